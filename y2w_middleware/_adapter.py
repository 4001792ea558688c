"""What the ASGI and WSGI adapters share before any request arrives.

Building the settings from the constructor's arguments, checking the
``user_loader``, and the quick test that tells a plain request (the hot
path) from one that may carry an identity token.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from ._settings import Settings

__all__ = [
    "UserLoader",
    "build_settings",
    "check_user_loader",
    "is_async_callable",
    "query_mentions",
]

#: ``identity -> the app's user, or None when the person is unknown``.
UserLoader = Callable[..., Any]


def build_settings(settings: Settings | None, overrides: dict[str, Any]) -> Settings:
    """The middleware's settings: given ones, with keyword overrides on top."""
    if settings is None:
        return Settings.from_env(**overrides)
    if overrides:
        return dataclasses.replace(settings, **overrides)
    return settings


def is_async_callable(obj: object) -> bool:
    """Whether calling *obj* gives a coroutine (functions or ``__call__``)."""
    if obj is None:
        return False
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004 - objects with async __call__
    )


def check_user_loader(user_loader: object) -> None:
    """Refuse, at construction, a ``user_loader`` that cannot be called."""
    if user_loader is not None and not callable(user_loader):
        raise TypeError("user_loader must be callable: identity -> user or None")


def query_mentions(query: bytes | str, name: bytes | str) -> bool:
    """Whether a raw query string may hold parameter *name*.

    A cheap over-approximation for the hot path: the flow parses the query
    properly. A percent-encoded name (``identity%54oken``) counts too, so an
    encoded token cannot slip past the login into the app's own logs.
    """
    if isinstance(query, bytes):
        raw_name = name if isinstance(name, bytes) else name.encode("latin-1")
        if raw_name in query:
            return True
        return b"%" in query and raw_name in unquote_to_bytes(query)

    text_name = name if isinstance(name, str) else name.decode("latin-1")
    if text_name in query:
        return True
    return "%" in query and text_name.encode("latin-1") in unquote_to_bytes(query)
