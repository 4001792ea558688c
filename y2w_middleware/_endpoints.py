"""The endpoints the middleware answers itself, under ``Y2W_PREFIX``.

``POST /login``, ``POST /logout``, ``GET /me``, ``POST /bind/complete`` and
the opt-in ``GET /access-token`` (DESIGN.md, "Endpoints"). Each is a flow
over the core's shared steps; the state-changing ones refuse requests
from another site, since a cookie-carrying POST is what CSRF forges.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from ._answers import (
    NO_REFERRER,
    PRIVATE,
    Answer,
    error,
    gateway_failure,
    is_browser,
    json_answer,
    redirect,
    safe_next,
)
from ._flow import (
    Effect,
    FetchAccessToken,
    Flow,
    LoadUser,
    Proceed,
    ReadBody,
    RequestView,
    Revoke,
)
from ._identity import User
from ._logging import logger
from .errors import Y2WError

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["MAX_BODY", "access_token", "bind_complete", "login", "logout", "me"]

#: Login bodies are a token and a ``next``: anything bigger is not one.
MAX_BODY = 16 * 1024

#: ``Sec-Fetch-Site`` values of a request made by this site's own pages
#: (``none``: typed in the address bar or a bookmark).
_SAME_SITE = frozenset({"same-origin", "none"})


def login(core: Core, request: RequestView) -> Flow:
    """``POST /login``: an identity token in a form or JSON body."""
    refused = _refuse(request, "POST")
    if refused is not None:
        return refused
    fields = yield from _read_form(request)
    if isinstance(fields, Answer):
        return fields

    token = fields.get(core.token_param) or request.headers.get(core.token_header)
    if not token:
        return error("InvalidIdentityToken", 400)
    identity = yield from core.verify_token(token.strip())
    if isinstance(identity, Answer):
        return identity

    next_url = safe_next(request.query_value("next") or fields.get("next"))
    admitted = yield from core.admit(identity, request, next_url)
    if isinstance(admitted, Answer):
        return admitted

    user, cookies = admitted
    headers = [*NO_REFERRER, *cookies]
    if is_browser(request.headers.get("accept")):
        return redirect(next_url, headers)
    return json_answer(200, user.to_json(), headers)


def logout(core: Core, request: RequestView) -> Flow:
    """``POST /logout``: revoke the session, clear both cookies."""
    refused = _refuse(request, "POST")
    if refused is not None:
        return refused

    user, _ = core.read_cookie(request.headers.get("cookie"))
    if user is not None:
        # Revoked for the rest of its life: a copy of the cookie replayed
        # later is refused, not only the browser's copy deleted.
        yield Revoke(user.session_id, core.max_age(user) + 1)
        logger.debug("session revoked at logout")

    headers = [
        ("set-cookie", core.session_jar.clear()),
        ("set-cookie", core.pending_jar.clear()),
    ]
    next_param = request.query_value("next")
    if next_param is not None or is_browser(request.headers.get("accept")):
        return redirect(safe_next(next_param), headers)
    return Answer(204, [*PRIVATE, *headers])


def me(core: Core, request: RequestView) -> Flow:
    """``GET /me``: the JSON user, or 401."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET, HEAD")

    outcome = yield from core.session(request)
    assert isinstance(outcome, Proceed)
    if not isinstance(outcome.user, User):
        clear = [header for header in outcome.headers if header[0] == "set-cookie"]
        return error("LoginRequired", 401, clear)
    return json_answer(200, outcome.user.to_json())


def bind_complete(core: Core, request: RequestView) -> Flow:
    """``POST /bind/complete``: the bind page linked the account; log in."""
    refused = _refuse(request, "POST")
    if refused is not None:
        return refused

    identity = core.pending_identity(request.headers.get("cookie"))
    if identity is None:
        return error("NotBound", 403)
    if core.has_user_loader and (yield LoadUser(identity)) is None:
        return error("NotBound", 403)

    value, user = core.sessions.issue(identity.uid, identity.name)
    headers = [
        ("set-cookie", core.session_jar.set(value, core.max_age(user))),
        ("set-cookie", core.pending_jar.clear()),
    ]
    return redirect(safe_next(request.query_value("next")), headers)


def access_token(core: Core, request: RequestView) -> Flow:
    """``GET /access-token``: the token the vendor's face component needs."""
    if request.method not in ("GET", "HEAD"):
        return _not_allowed("GET, HEAD")
    if request.headers.get("sec-fetch-site", "same-origin") not in _SAME_SITE:
        return error("CrossSiteRequest", 403)

    try:
        token = yield FetchAccessToken()
    except Y2WError as exc:
        return gateway_failure(exc)
    # The one answer that carries an access token, on purpose (DESIGN.md).
    return json_answer(200, {"accessToken": token.value, "expires": token.expires_in})


# -- shared steps ------------------------------------------------------------


def _refuse(request: RequestView, method: str) -> Answer | None:
    if request.method != method:
        return _not_allowed(method)
    if not _same_origin(request):
        logger.debug("request refused: cross-site %s %s", method, request.path)
        return error("CrossSiteRequest", 403)
    return None


def _same_origin(request: RequestView) -> bool:
    # Browsers send Sec-Fetch-Site on every request; older ones send Origin
    # on cross-site POSTs. A request with neither is not from a browser
    # page, so it cannot be a forged cross-site one.
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in _SAME_SITE
    origin = request.headers.get("origin")
    if origin is None:
        return True
    # Compare hosts only: behind a TLS-terminating proxy the scheme we see
    # differs from the browser's.
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _read_form(request: RequestView) -> Generator[Effect, Any, dict[str, str] | Answer]:
    body: bytes | None = yield ReadBody(MAX_BODY)
    if body is None:
        return error("PayloadTooLarge", 413)

    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    try:
        if content_type == "application/json":
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                return error("BadRequest", 400)
            return {k: v for k, v in data.items() if isinstance(v, str)}
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return error("BadRequest", 400)


def _not_allowed(allow: str) -> Answer:
    return error("MethodNotAllowed", 405, [("allow", allow)])
