"""Configuration: one frozen ``Settings`` object, read from ``Y2W_*`` variables.

Every value has one source, in this order: an explicit keyword, then the
environment, then the default. All problems are collected and raised as
one ``ConfigError`` that names each variable, so a deployment is fixed in
one round; secret values are never repeated in a message or a repr.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from .errors import ConfigError

__all__ = ["Secret", "Settings"]

logger = logging.getLogger("y2w_middleware")

#: The vendor's documented base address (gateway-contract.md).
DEFAULT_GATEWAY_URL = "http://gateway.api.yun2win.com"
#: The shape of identity tokens the gateway issues; anything else is refused
#: locally, which keeps odd bytes out of the request path we build.
DEFAULT_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"
#: Shorter session keys are refused: they would make forging cookies cheap.
MIN_SESSION_SECRET_LENGTH = 16

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_NAME = _COOKIE_NAME
_SAMESITE = ("lax", "strict", "none")


class Secret:
    """A string that does not show itself in reprs, ``str()`` or f-strings.

    Call :meth:`reveal` at the one place the value is really needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _env_name(field: str) -> str:
    return "Y2W_" + field.upper()


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the middleware and the gateway client need to know.

    Build it with :meth:`from_env`, or directly with keywords named like
    the variables without ``Y2W_`` in lower case. Construction validates
    every value and raises :class:`~y2w_middleware.errors.ConfigError`.
    """

    appid: str = ""
    # Secret is immutable, so one shared empty default is safe.
    secret: Secret = Secret("")  # noqa: RUF009
    session_secret: Secret = Secret("")  # noqa: RUF009
    session_secret_fallbacks: tuple[Secret, ...] = ()
    gateway_url: str = DEFAULT_GATEWAY_URL
    timeout: float = 5.0
    session_max_age: int = 28800
    cookie_name: str = "y2w_session"
    cookie_secure: bool = True
    cookie_samesite: Literal["lax", "strict", "none"] = "lax"
    cookie_domain: str | None = None
    cookie_path: str = "/"
    token_param: str = "identityToken"
    token_header: str = "X-Identity-Token"
    token_pattern: str = DEFAULT_TOKEN_PATTERN
    prefix: str = "/y2w"
    login_url: str | None = None
    bind_url: str | None = None
    expose_access_token: bool = False
    # The URL may hold a password (redis://:password@host), so no repr.
    redis_url: str | None = dataclasses.field(default=None, repr=False)
    #: How long a verified but not yet bound identity waits for the bind
    #: page (seconds); identity tokens themselves live five minutes.
    pending_max_age: int = 600

    token_regex: re.Pattern[str] = dataclasses.field(
        init=False, repr=False, compare=False
    )

    if TYPE_CHECKING:
        # What the generated __init__ accepts, for type checkers: secrets
        # may be given as plain strings (they are wrapped on the way in).
        # tests/test_settings.py checks this list against the fields.
        def __init__(
            self,
            *,
            appid: str = ...,
            secret: Secret | str = ...,
            session_secret: Secret | str = ...,
            session_secret_fallbacks: Iterable[Secret | str] | str = ...,
            gateway_url: str = ...,
            timeout: float = ...,
            session_max_age: int = ...,
            cookie_name: str = ...,
            cookie_secure: bool = ...,
            cookie_samesite: Literal["lax", "strict", "none"] = ...,
            cookie_domain: str | None = ...,
            cookie_path: str = ...,
            token_param: str = ...,
            token_header: str = ...,
            token_pattern: str = ...,
            prefix: str = ...,
            login_url: str | None = ...,
            bind_url: str | None = ...,
            expose_access_token: bool = ...,
            redis_url: str | None = ...,
            pending_max_age: int = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        self._coerce_secrets()
        problems = [
            problem for check in _CHECKS if (problem := check(self)) is not None
        ]
        if problems:
            raise ConfigError(problems)

        object.__setattr__(self, "token_regex", re.compile(self.token_pattern))
        object.__setattr__(self, "gateway_url", self.gateway_url.rstrip("/"))
        object.__setattr__(self, "prefix", self.prefix.rstrip("/"))
        if not self.cookie_secure:
            logger.warning(
                "Y2W_COOKIE_SECURE is false: session cookies will travel over "
                "plain http; use this only for local development"
            )

    def _coerce_secrets(self) -> None:
        # Plain strings are accepted for convenience; store them wrapped.
        for name in ("secret", "session_secret"):
            value: object = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value))
        fallbacks: object = self.session_secret_fallbacks
        if isinstance(fallbacks, str):
            fallbacks = _split_list(fallbacks)
        if isinstance(fallbacks, Iterable):
            wrapped = tuple(
                key if isinstance(key, Secret) else Secret(str(key))
                for key in fallbacks
            )
            object.__setattr__(self, "session_secret_fallbacks", wrapped)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Read ``Y2W_*`` variables from *environ* (default ``os.environ``).

        Keyword *overrides* win over the environment. Raises ``ConfigError``
        naming every missing or malformed variable at once.
        """
        env = os.environ if environ is None else environ
        known = {field.name: field for field in _init_fields()}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(unknown)}")

        values: dict[str, Any] = {}
        problems: list[str] = []
        for name in known:
            if name in overrides:
                values[name] = overrides[name]
                continue
            raw = env.get(_env_name(name), "").strip()
            if raw:
                try:
                    values[name] = _CASTS.get(name, str)(raw)
                except ValueError as exc:
                    problems.append(f"{_env_name(name)}: {exc}")

        try:
            settings = cls(**values)
        except ConfigError as exc:
            raise ConfigError(problems + exc.problems) from None
        if problems:
            raise ConfigError(problems)
        return settings

    def env_name(self, field: str) -> str:
        """The environment variable that sets *field*, e.g. ``Y2W_TIMEOUT``."""
        return _env_name(field)


def _init_fields() -> list[dataclasses.Field[Any]]:
    return [field for field in dataclasses.fields(Settings) if field.init]


# -- casting environment strings ------------------------------------------


def _cast_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _cast_int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None


def _cast_float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {raw!r}") from None


def _split_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


_CASTS: dict[str, Callable[[str], Any]] = {
    "timeout": _cast_float,
    "session_max_age": _cast_int,
    "pending_max_age": _cast_int,
    "cookie_secure": _cast_bool,
    "expose_access_token": _cast_bool,
    "cookie_samesite": str.lower,
    "session_secret_fallbacks": _split_list,
}


# -- validating values ----------------------------------------------------
# Each check returns one problem line naming the variable, or None. They
# never include the value of a secret.


def _label(field: str) -> str:
    return f"{_env_name(field)} ({field})"


def _check_required(field: str) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        if not getattr(settings, field):
            return f"{_label(field)} is required"
        return None

    return check


def _check_session_secret(settings: Settings) -> str | None:
    keys = (settings.session_secret, *settings.session_secret_fallbacks)
    if not settings.session_secret:
        return None  # reported as missing already
    if any(len(key.reveal()) < MIN_SESSION_SECRET_LENGTH for key in keys):
        return (
            f"{_label('session_secret')} and its fallbacks must be at least "
            f"{MIN_SESSION_SECRET_LENGTH} characters long"
        )
    return None


def _check_gateway_url(settings: Settings) -> str | None:
    parts = urlsplit(settings.gateway_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{_label('gateway_url')} must be an http(s) URL"
    if parts.query or parts.fragment:
        return f"{_label('gateway_url')} must not have a query or fragment"
    return None


def _check_positive(
    field: str, kind: type[int] | type[float]
) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        value = getattr(settings, field)
        # A float session lifetime would be signed into cookies that then
        # fail the whole-seconds check when read back, so ints stay ints.
        allowed = int if kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            noun = "whole number" if kind is int else "number"
            return f"{_label(field)} must be a {noun}"
        if not math.isfinite(value) or value <= 0:
            return f"{_label(field)} must be a finite number greater than zero"
        return None

    return check


def _check_bool(field: str) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        if not isinstance(getattr(settings, field), bool):
            return f"{_label(field)} must be true or false"
        return None

    return check


def _check_samesite(settings: Settings) -> str | None:
    if settings.cookie_samesite not in _SAMESITE:
        return f"{_label('cookie_samesite')} must be one of lax, strict, none"
    if settings.cookie_samesite == "none" and not settings.cookie_secure:
        return f"{_label('cookie_samesite')}=none requires Y2W_COOKIE_SECURE=true"
    return None


def _check_name(field: str, pattern: re.Pattern[str]) -> Callable[..., str | None]:
    def check(settings: Settings) -> str | None:
        if not pattern.match(getattr(settings, field) or ""):
            return f"{_label(field)} must be a non-empty token (letters, digits, -_.)"
        return None

    return check


def _check_path(field: str, optional: bool) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        value = getattr(settings, field)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.startswith("/"):
            return f"{_label(field)} must be a path starting with /"
        # ";" would smuggle attributes into Set-Cookie, controls and
        # non-ASCII cannot go into a header at all.
        plain = value.isascii() and value.isprintable()
        if value.startswith("//") or any(c in value for c in "?#\\ ;") or not plain:
            return f"{_label(field)} must be a plain path"
        return None

    return check


_DOMAIN = re.compile(r"^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _check_domain(settings: Settings) -> str | None:
    # The value goes verbatim into Set-Cookie's Domain attribute.
    domain = settings.cookie_domain
    if domain is not None and not _DOMAIN.match(domain):
        return f"{_label('cookie_domain')} must be a host name"
    return None


def _check_url(field: str) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        value = getattr(settings, field)
        if value is None:
            return None
        parts = urlsplit(value)
        relative = value.startswith("/") and not value.startswith("//")
        absolute = parts.scheme in ("http", "https") and bool(parts.netloc)
        if not (relative or absolute):
            return f"{_label(field)} must be a path or an http(s) URL"
        return None

    return check


def _check_pattern(settings: Settings) -> str | None:
    try:
        re.compile(settings.token_pattern)
    except (re.error, TypeError):
        return f"{_label('token_pattern')} is not a valid regular expression"
    return None


def _check_redis_url(settings: Settings) -> str | None:
    url = settings.redis_url
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        return f"{_label('redis_url')} must be a redis://, rediss:// or unix:// URL"
    return None


_CHECKS: tuple[Callable[[Settings], str | None], ...] = (
    _check_required("appid"),
    _check_required("secret"),
    _check_required("session_secret"),
    _check_session_secret,
    _check_gateway_url,
    _check_positive("timeout", float),
    _check_positive("session_max_age", int),
    _check_positive("pending_max_age", int),
    _check_bool("cookie_secure"),
    _check_bool("expose_access_token"),
    _check_samesite,
    _check_name("cookie_name", _COOKIE_NAME),
    _check_name("token_param", _COOKIE_NAME),
    _check_name("token_header", _HEADER_NAME),
    _check_path("cookie_path", optional=False),
    _check_domain,
    _check_path("prefix", optional=False),
    _check_url("login_url"),
    _check_url("bind_url"),
    _check_pattern,
    _check_redis_url,
)
