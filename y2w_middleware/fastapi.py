"""FastAPI integration: the ``require_user`` dependency and ``CurrentUser``.

Add :class:`~y2w_middleware.Y2WMiddleware` to the app as usual, then ask
for the user in a path operation::

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"name": user.name}

Without a session the dependency refuses the request exactly as
``login_required`` does: browsers are sent to ``Y2W_LOGIN_URL``, other
callers get 401 ``LoginRequired`` JSON.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from ._decorators import refusal
from ._identity import User
from ._request import get_user

__all__ = ["CurrentUser", "require_user"]

from ._answers import ANSWER_HEADER


def require_user(request: Request) -> User:
    """The logged-in ``User``; refuses the request without a session."""
    answer = refusal(request.scope)
    if answer is None:
        user = get_user(request)
        assert isinstance(user, User)
        return user

    headers = dict(answer.headers)
    detail = None
    if answer.body:
        detail = json.loads(answer.body)
        headers[ANSWER_HEADER] = detail["error"]
    raise HTTPException(status_code=answer.status, detail=detail, headers=headers)


#: ``user: CurrentUser`` in a path operation: the logged-in ``User``.
CurrentUser = Annotated[User, Depends(require_user)]
