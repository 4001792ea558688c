"""The exception tree of ``y2w_middleware.errors`` and its vendor-code mapping."""

from __future__ import annotations

import pytest

from y2w_middleware import errors
from y2w_middleware.errors import (
    AccessTokenError,
    AccessTokenHasExpired,
    AccessTokenIsInvalid,
    AccessTokenNoExist,
    ConfigError,
    CredentialError,
    GatewayError,
    GatewayUnavailable,
    IdentityTokenError,
    IdentityTokenExpired,
    IdentityTokenInvalid,
    InvalidIdentityToken,
    LimitExceeded,
    SecretError,
    SecretHasDisabled,
    SecretIsInvalid,
    StoreUnavailable,
    Y2WError,
    gateway_error,
)

#: The tree as the module docstring draws it: (class, its direct parent).
TREE = [
    (ConfigError, Y2WError),
    (InvalidIdentityToken, Y2WError),
    (GatewayUnavailable, Y2WError),
    (StoreUnavailable, GatewayUnavailable),
    (GatewayError, Y2WError),
    (AccessTokenError, GatewayError),
    (AccessTokenNoExist, AccessTokenError),
    (AccessTokenIsInvalid, AccessTokenError),
    (AccessTokenHasExpired, AccessTokenError),
    (CredentialError, GatewayError),
    (SecretIsInvalid, CredentialError),
    (SecretHasDisabled, CredentialError),
    (SecretError, CredentialError),
    (LimitExceeded, GatewayError),
    (IdentityTokenError, GatewayError),
    (IdentityTokenInvalid, IdentityTokenError),
    (IdentityTokenExpired, IdentityTokenError),
]

#: The nine failures of gateway-contract.md: (code, HTTP status, message, class).
VENDOR_CODES = [
    ("AccessTokenNoExist", 401, "必须有 accessToken", AccessTokenNoExist),
    ("AccessTokenIsInvalid", 401, "无效的 accessToken", AccessTokenIsInvalid),
    ("AccessTokenHasExpired", 401, "accessToken 已过期", AccessTokenHasExpired),
    ("SecretIsInvalid", 403, "无效的 secret", SecretIsInvalid),
    ("SecretHasDisabled", 403, "secret 已被禁用", SecretHasDisabled),
    ("SecretError", 403, "secret 状态异常", SecretError),
    ("LimitExceeded", 403, "已超出用量限制", LimitExceeded),
    ("Identity_Token_Invalid", 500, "identityToken无效", IdentityTokenInvalid),
    ("Identity_Token_In_Expire", 500, "identityToken无效已过期", IdentityTokenExpired),
]


class TestTree:
    @pytest.mark.parametrize(
        ("cls", "parent"),
        [pytest.param(cls, parent, id=cls.__name__) for cls, parent in TREE],
    )
    def test_class_sits_under_its_drawn_parent(
        self, cls: type[Exception], parent: type[Exception]
    ) -> None:
        """Each class derives directly from the parent the docstring draws."""
        assert parent in cls.__bases__

    @pytest.mark.parametrize(
        "name", [pytest.param(name, id=name) for name in errors.__all__]
    )
    def test_every_exported_exception_has_the_one_root(self, name: str) -> None:
        """Every exported exception class is a ``Y2WError``."""
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, Y2WError)
        else:
            assert name == "gateway_error"

    def test_the_drawing_covers_every_exported_class(self) -> None:
        """No exported exception is missing from the tree the tests check."""
        exported = {
            getattr(errors, name)
            for name in errors.__all__
            if isinstance(getattr(errors, name), type)
        }
        assert exported == {cls for cls, _ in TREE} | {Y2WError}

    @pytest.mark.parametrize(
        "cls",
        [
            pytest.param(ConfigError, id="ConfigError"),
            pytest.param(InvalidIdentityToken, id="InvalidIdentityToken"),
        ],
    )
    def test_caller_value_errors_are_value_errors(self, cls: type[Exception]) -> None:
        """Errors about a value the caller handed over are also ``ValueError``."""
        assert issubclass(cls, ValueError)

    @pytest.mark.parametrize(
        "cls",
        [
            pytest.param(GatewayUnavailable, id="GatewayUnavailable"),
            pytest.param(GatewayError, id="GatewayError"),
        ],
    )
    def test_gateway_failures_are_not_value_errors(self, cls: type[Exception]) -> None:
        """A gateway failure is not the caller's bad value."""
        assert not issubclass(cls, ValueError)


class TestGatewayError:
    @pytest.mark.parametrize(
        ("code", "status", "message", "cls"),
        [pytest.param(*row, id=row[0]) for row in VENDOR_CODES],
    )
    def test_vendor_code_maps_to_its_class(
        self, code: str, status: int, message: str, cls: type[GatewayError]
    ) -> None:
        """``gateway_error`` builds the class and keeps code, status and message."""
        exc = gateway_error(code, status, message)

        assert type(exc) is cls
        assert (exc.code, exc.status, exc.message) == (code, status, message)
        assert (cls.vendor_code, cls.vendor_status) == (code, status)

    def test_unknown_code_is_a_plain_gateway_error(self) -> None:
        """A code the contract does not list still arrives with its code and status."""
        exc = gateway_error("BrandNewCode", 418, "新的错误")

        assert type(exc) is GatewayError
        assert (exc.code, exc.status, exc.message) == ("BrandNewCode", 418, "新的错误")

    def test_message_names_code_and_status(self) -> None:
        """The exception's text says which code and status the gateway gave."""
        text = str(gateway_error("SecretIsInvalid", 403, "无效的 secret"))

        assert "SecretIsInvalid" in text
        assert "403" in text

    def test_retry_after_defaults_to_none(self) -> None:
        """Without a hint, a gateway error promises no retry time."""
        assert gateway_error("LimitExceeded", 403, "已超出用量限制").retry_after is None

    def test_retry_after_is_kept(self) -> None:
        """A retry hint given at construction is kept on the exception."""
        exc = LimitExceeded("LimitExceeded", 403, "已超出用量限制", retry_after=60)

        assert exc.retry_after == 60


class TestGatewayUnavailable:
    def test_defaults(self) -> None:
        """Without details there is no status and a five-second retry hint."""
        exc = GatewayUnavailable("connection refused")

        assert (exc.reason, exc.status, exc.retry_after) == (
            "connection refused",
            None,
            5,
        )
        assert str(exc) == "connection refused"

    def test_status_and_retry_after_are_kept(self) -> None:
        """The HTTP status and retry hint given are kept."""
        exc = GatewayUnavailable("unexpected status", status=502, retry_after=30)

        assert (exc.status, exc.retry_after) == (502, 30)


class TestConfigError:
    def test_message_lists_every_problem(self) -> None:
        """Each problem line appears in the message and in ``problems``."""
        problems = ["Y2W_APPID (appid) is required", "Y2W_TIMEOUT (timeout): bad"]
        exc = ConfigError(problems)

        assert exc.problems == problems
        for line in problems:
            assert line in str(exc)


class TestInvalidIdentityToken:
    def test_default_reason(self) -> None:
        """Without a reason the message says the shape is wrong."""
        assert "shape" in str(InvalidIdentityToken())

    def test_custom_reason(self) -> None:
        """A given reason is the message."""
        assert str(InvalidIdentityToken("no token")) == "no token"
