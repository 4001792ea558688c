"""Flask integration: ``Y2W(app)`` and ``current_user``.

``Y2W`` wraps ``app.wsgi_app`` in :class:`~y2w_middleware.Y2WWSGIMiddleware`
and reads settings from the environment, with any ``Y2W_*`` keys of
``app.config`` on top; ``current_user`` is the user of the request being
handled, ``AnonymousUser`` without a session.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from werkzeug.local import LocalProxy

from ._adapter import UserLoader
from ._identity import AnonymousUser, User
from ._request import get_user
from ._settings import Settings
from ._wsgi import Y2WWSGIMiddleware

__all__ = ["Y2W", "current_user"]


def _current_user() -> User | AnonymousUser:
    user = get_user(request.environ)
    assert isinstance(user, User | AnonymousUser)
    return user


#: The user of the current request (``User`` or ``AnonymousUser``); both
#: have ``uid``, ``name`` and ``is_authenticated``.
current_user: User | AnonymousUser = LocalProxy(_current_user)  # type: ignore[assignment]


class Y2W:
    """The Flask extension: ``Y2W(app)`` or ``Y2W()`` then ``init_app(app)``.

    :param settings: settings to use; by default ``Y2W_*`` variables from
        the environment, overridden by ``Y2W_*`` keys in ``app.config``.
    :param user_loader: ``identity -> user or None`` (a plain function).
    :param overrides: settings by keyword, winning over both.
    """

    def __init__(
        self,
        app: Flask | None = None,
        settings: Settings | None = None,
        user_loader: UserLoader | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = settings
        self.user_loader = user_loader
        self.overrides = overrides
        self.middleware: Y2WWSGIMiddleware | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap *app*'s WSGI callable; raises ``ConfigError`` on bad settings."""
        # ``client`` goes to the middleware; every other keyword is a setting.
        overrides = dict(self.overrides)
        client = overrides.pop("client", None)
        settings = self.settings
        if settings is None:
            environ = {**os.environ, **_config_variables(app)}
            settings = Settings.from_env(environ, **overrides)
            overrides = {}

        self.middleware = Y2WWSGIMiddleware(
            app.wsgi_app, settings, self.user_loader, client=client, **overrides
        )
        app.wsgi_app = self.middleware  # type: ignore[method-assign]
        app.extensions["y2w"] = self


def _config_variables(app: Flask) -> dict[str, str]:
    # Config values may be typed (True, 600); the environment's casts read
    # their string form, so both sources are checked the same way.
    return {
        key: _as_text(value)
        for key, value in app.config.items()
        if key.startswith("Y2W_") and value is not None
    }


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)
