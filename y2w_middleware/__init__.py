"""Face login through the yun2win gateway for any ASGI or WSGI app.

One line adds it::

    app.add_middleware(Y2WMiddleware)                  # Starlette, FastAPI
    app.wsgi_app = Y2WWSGIMiddleware(app.wsgi_app)     # Flask, any WSGI app

Settings come from ``Y2W_*`` environment variables (see ``Settings``).
"""

from __future__ import annotations

from ._asgi import Y2WMiddleware
from ._client import AsyncGatewayClient, GatewayClient
from ._decorators import login_required
from ._identity import AnonymousUser, Identity, User
from ._request import get_pending_identity, get_user
from ._settings import Secret, Settings
from ._token import AccessToken
from ._wsgi import Y2WWSGIMiddleware

__all__ = [
    "AccessToken",
    "AnonymousUser",
    "AsyncGatewayClient",
    "GatewayClient",
    "Identity",
    "Secret",
    "Settings",
    "User",
    "Y2WMiddleware",
    "Y2WWSGIMiddleware",
    "get_pending_identity",
    "get_user",
    "login_required",
]

__version__ = "0.1.0"
