"""The exceptions ``y2w_middleware`` raises, all under one root.

The tree::

    Y2WError
    ├── ConfigError                 a setting is missing or wrong (start-up)
    ├── InvalidIdentityToken        a token failed the local shape check
    ├── GatewayUnavailable          network failure, timeout, unexpected
    │   │                           status or malformed answer
    │   └── StoreUnavailable        the shared store (Redis) failed
    └── GatewayError                the gateway answered with an error code
        ├── AccessTokenError        401: our access token was refused
        │   ├── AccessTokenNoExist
        │   ├── AccessTokenIsInvalid
        │   └── AccessTokenHasExpired
        ├── CredentialError         403: appid / secret refused
        │   ├── SecretIsInvalid
        │   ├── SecretHasDisabled
        │   └── SecretError
        ├── LimitExceeded           403: the application's quota is spent
        └── IdentityTokenError      500: the person's token is bad
            ├── IdentityTokenInvalid      (vendor code Identity_Token_Invalid)
            └── IdentityTokenExpired      (vendor code Identity_Token_In_Expire)

``ConfigError`` and ``InvalidIdentityToken`` are also ``ValueError``s:
both mean the caller handed over a value of the wrong kind.

A gateway code this module does not know becomes a plain ``GatewayError``
so that a new vendor code is still reported with its code and status.
Messages never contain a secret, an access token or an identity token.
"""

from __future__ import annotations

__all__ = [
    "AccessTokenError",
    "AccessTokenHasExpired",
    "AccessTokenIsInvalid",
    "AccessTokenNoExist",
    "ConfigError",
    "CredentialError",
    "GatewayError",
    "GatewayUnavailable",
    "IdentityTokenError",
    "IdentityTokenExpired",
    "IdentityTokenInvalid",
    "InvalidIdentityToken",
    "LimitExceeded",
    "SecretError",
    "SecretHasDisabled",
    "SecretIsInvalid",
    "StoreUnavailable",
    "Y2WError",
    "gateway_error",
]


class Y2WError(Exception):
    """The root of every exception this package raises on purpose."""


class ConfigError(Y2WError, ValueError):
    """One or more settings are missing or malformed.

    :param problems: one line per bad setting, each naming its variable.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid y2w settings:\n  " + "\n  ".join(self.problems))


class InvalidIdentityToken(Y2WError, ValueError):
    """An identity token does not have the shape the gateway issues.

    Raised before any network call; the token itself is never repeated.
    """

    def __init__(self, reason: str = "identity token has an invalid shape") -> None:
        super().__init__(reason)


class GatewayUnavailable(Y2WError):
    """The gateway could not be reached or gave an answer we cannot use.

    Covers connection errors, timeouts, statuses the contract does not
    document and bodies that are not the documented JSON.

    :param reason: a description safe to log (no tokens, no secret).
    :param status: the HTTP status, when an answer arrived at all.
    :param retry_after: seconds a client should wait before trying again.
    """

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: int = 5
    ) -> None:
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


class StoreUnavailable(GatewayUnavailable):
    """The shared store (Redis) could not be reached or gave a bad answer.

    A ``GatewayUnavailable``: a login cannot proceed and waiting may help.
    """


class GatewayError(Y2WError):
    """The gateway answered with one of its documented error codes.

    :param code: the vendor's ``error`` field, e.g. ``"SecretIsInvalid"``.
    :param status: the HTTP status of the answer.
    :param message: the vendor's ``message`` field (often Chinese).
    """

    #: The vendor code a subclass stands for; ``None`` on the generic class.
    vendor_code: str | None = None
    #: The HTTP status the contract gives that code.
    vendor_status: int | None = None

    def __init__(
        self, code: str, status: int, message: str, *, retry_after: int | None = None
    ) -> None:
        self.code = code
        self.status = status
        self.message = message
        #: Seconds until a retry may succeed, where waiting helps at all.
        self.retry_after = retry_after
        super().__init__(f"{code} (HTTP {status}): {message}")


class AccessTokenError(GatewayError):
    """Our access token was missing, unknown or expired (HTTP 401)."""


class AccessTokenNoExist(AccessTokenError):
    vendor_code, vendor_status = "AccessTokenNoExist", 401


class AccessTokenIsInvalid(AccessTokenError):
    vendor_code, vendor_status = "AccessTokenIsInvalid", 401


class AccessTokenHasExpired(AccessTokenError):
    vendor_code, vendor_status = "AccessTokenHasExpired", 401


class CredentialError(GatewayError):
    """The application's appid or secret was refused (HTTP 403).

    Retrying does not help: the configuration must change.
    """


class SecretIsInvalid(CredentialError):
    vendor_code, vendor_status = "SecretIsInvalid", 403


class SecretHasDisabled(CredentialError):
    vendor_code, vendor_status = "SecretHasDisabled", 403


class SecretError(CredentialError):
    vendor_code, vendor_status = "SecretError", 403


class LimitExceeded(GatewayError):
    """The application's quota is spent; calling again at once will not help."""

    vendor_code, vendor_status = "LimitExceeded", 403


class IdentityTokenError(GatewayError):
    """The person's identity token is invalid or expired.

    The gateway answers these with HTTP 500, but they are the person's
    problem, not a gateway fault (see the contract's notes).
    """


class IdentityTokenInvalid(IdentityTokenError):
    vendor_code, vendor_status = "Identity_Token_Invalid", 500


class IdentityTokenExpired(IdentityTokenError):
    vendor_code, vendor_status = "Identity_Token_In_Expire", 500


_BY_CODE: dict[str, type[GatewayError]] = {
    cls.vendor_code: cls
    for cls in (
        AccessTokenNoExist,
        AccessTokenIsInvalid,
        AccessTokenHasExpired,
        SecretIsInvalid,
        SecretHasDisabled,
        SecretError,
        LimitExceeded,
        IdentityTokenInvalid,
        IdentityTokenExpired,
    )
    if cls.vendor_code is not None
}


def gateway_error(code: str, status: int, message: str) -> GatewayError:
    """Build the exception for a vendor error code, generic when unknown."""
    cls = _BY_CODE.get(code, GatewayError)
    return cls(code, status, message)
