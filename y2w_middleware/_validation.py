"""The rules a ``Settings`` must pass, and how environment strings are read.

Each check returns one line naming the variable it is about, or None, so
``Settings`` can report every problem of a deployment at once. No line
ever repeats the value of a secret. Casts are strict: a boolean is one of
a few spellings, never "anything non-empty".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._settings import Settings

__all__ = ["CASTS", "CHECKS", "MIN_SESSION_SECRET_LENGTH", "env_name", "split_list"]

#: Shorter session keys are refused: they would make forging cookies cheap.
MIN_SESSION_SECRET_LENGTH = 16

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HEADER_NAME = _COOKIE_NAME
_SAMESITE = ("lax", "strict", "none")


def env_name(field: str) -> str:
    """The environment variable that sets *field*, e.g. ``Y2W_TIMEOUT``."""
    return "Y2W_" + field.upper()


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


def split_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list, items stripped, empty items dropped."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


CASTS: dict[str, Callable[[str], Any]] = {
    "timeout": _cast_float,
    "session_max_age": _cast_int,
    "pending_max_age": _cast_int,
    "cookie_secure": _cast_bool,
    "expose_access_token": _cast_bool,
    "cookie_samesite": str.lower,
    "session_secret_fallbacks": split_list,
}


# -- validating values ----------------------------------------------------
# Each check returns one problem line naming the variable, or None. They
# never include the value of a secret.


def _label(field: str) -> str:
    return f"{env_name(field)} ({field})"


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


CHECKS: tuple[Callable[[Settings], str | None], ...] = (
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
