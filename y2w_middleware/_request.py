"""Finding the user of the current request, from any framework.

The adapters store the user in the request itself (ASGI ``scope["user"]``,
WSGI ``environ["y2w.user"]``) and, for code that has no request at hand
(``login_required`` on a FastAPI path operation without a ``Request``
parameter, Flask's ``current_user``), also in a context variable that
lives for the duration of the app call.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.authentication import BaseUser

from ._identity import ANONYMOUS, Identity

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["current_request", "get_pending_identity", "get_user"]

#: The ASGI scope or WSGI environ of the request being handled.
current_request: ContextVar[Mapping[str, Any]] = ContextVar("y2w_current_request")

#: Where the adapters put things: ASGI scope keys and WSGI environ keys.
SCOPE_USER, SCOPE_CORE = "user", "y2w"
ENVIRON_USER, ENVIRON_CORE = "y2w.user", "y2w.core"


def _mapping(request: object) -> Mapping[str, Any]:
    # A Starlette/FastAPI Request has .scope; a Flask/Werkzeug request has
    # .environ; a raw ASGI scope or WSGI environ is a mapping already.
    for attribute in ("scope", "environ"):
        found = getattr(request, attribute, None)
        if isinstance(found, Mapping):
            return found
    if isinstance(request, Mapping):
        return request
    raise TypeError(
        "expected a request, an ASGI scope or a WSGI environ, "
        f"got {type(request).__name__}"
    )


def get_user(request: object | None = None) -> BaseUser:
    """The ``User`` of *request*, or ``AnonymousUser`` without a session.

    *request* may be a Starlette/FastAPI ``Request``, a Flask request, an
    ASGI scope or a WSGI environ; ``None`` means the current request.
    """
    mapping = _mapping(request) if request is not None else current_request.get({})
    user = mapping.get(ENVIRON_USER)
    if user is None and "type" in mapping:
        user = mapping.get(SCOPE_USER)
    return user if isinstance(user, BaseUser) else ANONYMOUS


def get_pending_identity(request: object | None = None) -> Identity | None:
    """On the bind page: the verified ``Identity`` waiting to be bound.

    ``None`` when there is none, or it expired. Its ``id`` is empty: the
    identity token itself is never stored.
    """
    mapping = _mapping(request) if request is not None else current_request.get({})
    core: Core | None = mapping.get(ENVIRON_CORE) or mapping.get(SCOPE_CORE)
    if core is None:
        raise RuntimeError(
            "get_pending_identity() needs Y2WMiddleware or Y2WWSGIMiddleware "
            "around the app"
        )
    return core.pending_identity(_cookie_header(mapping))


def _cookie_header(mapping: Mapping[str, Any]) -> str | None:
    if "HTTP_COOKIE" in mapping or "REQUEST_METHOD" in mapping:
        cookie: str | None = mapping.get("HTTP_COOKIE")
        return cookie
    values = [
        v.decode("latin-1") for k, v in mapping.get("headers", ()) if k == b"cookie"
    ]
    return "; ".join(values) if values else None
