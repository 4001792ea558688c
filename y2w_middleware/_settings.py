"""Configuration: one frozen ``Settings`` object, read from ``Y2W_*`` variables.

Every value has one source, in this order: an explicit keyword, then the
environment, then the default. All problems are collected and raised as
one ``ConfigError`` that names each variable, so a deployment is fixed in
one round; secret values are never repeated in a message or a repr.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ._validation import CASTS, CHECKS, env_name, split_list
from .errors import ConfigError

__all__ = ["Secret", "Settings"]

logger = logging.getLogger("y2w_middleware")

#: The vendor's documented base address (gateway-contract.md).
DEFAULT_GATEWAY_URL = "http://gateway.api.yun2win.com"
#: The shape of identity tokens the gateway issues; anything else is refused
#: locally, which keeps odd bytes out of the request path we build.
DEFAULT_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"


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
        problems = [problem for check in CHECKS if (problem := check(self)) is not None]
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
            fallbacks = split_list(fallbacks)
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
            raw = env.get(env_name(name), "").strip()
            if raw:
                try:
                    values[name] = CASTS.get(name, str)(raw)
                except ValueError as exc:
                    problems.append(f"{env_name(name)}: {exc}")

        try:
            settings = cls(**values)
        except ConfigError as exc:
            raise ConfigError(problems + exc.problems) from None
        if problems:
            raise ConfigError(problems)
        return settings

    def env_name(self, field: str) -> str:
        """The environment variable that sets *field*, e.g. ``Y2W_TIMEOUT``."""
        return env_name(field)


def _init_fields() -> list[dataclasses.Field[Any]]:
    return [field for field in dataclasses.fields(Settings) if field.init]
