"""Face login through the yun2win gateway for any ASGI or WSGI app."""

from __future__ import annotations

from ._identity import AnonymousUser, Identity, User
from ._settings import Secret, Settings

__all__ = ["AnonymousUser", "Identity", "Secret", "Settings", "User"]
