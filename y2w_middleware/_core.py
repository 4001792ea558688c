"""The framework-neutral decisions for one request, without any I/O.

``Core.flow(request)`` decides every request that is not a plain one: it
routes the middleware's own endpoints (``_endpoints``), logs in from a
token in the query or a header, and reads the session otherwise. It is a
generator of effects (``_flow``), so the ASGI and WSGI adapters perform
the same decisions, one with ``await`` and one with plain calls.

Requests that carry only a session cookie never enter the generator: the
adapters call :meth:`Core.read_cookie` and check revocation themselves,
which keeps the hot path to a string search, a dict lookup and a clock
read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qsl

from . import _endpoints as endpoints
from ._answers import (
    NO_REFERRER,
    PRIVATE,
    Answer,
    Headers,
    error,
    gateway_failure,
    is_browser,
    redirect,
    safe_next,
    with_next,
)
from ._cookies import DUPLICATE, CookieJar, cookie_pattern, find_cookie
from ._flow import (
    ANONYMOUS,
    Effect,
    Flow,
    IsRevoked,
    LoadUser,
    Proceed,
    RequestView,
    Resolve,
)
from ._identity import Identity, User
from ._logging import logger
from ._session import PendingCodec, SessionCodec
from ._settings import Settings
from .errors import InvalidIdentityToken, Y2WError

__all__ = ["Core"]

_VARY: Headers = [("vary", "Cookie")]


class Core:
    """Everything the middleware decides, built once per middleware."""

    def __init__(
        self,
        settings: Settings,
        *,
        has_user_loader: bool = False,
        sessions: SessionCodec | None = None,
    ) -> None:
        self.settings = settings
        self.has_user_loader = has_user_loader
        self.sessions = sessions or SessionCodec(settings)
        self.pending = PendingCodec(settings)
        self.session_jar = CookieJar.for_settings(settings.cookie_name, settings)
        self.pending_jar = CookieJar.for_settings(
            settings.cookie_name + "_bind", settings
        )
        self._session_pattern = cookie_pattern(settings.cookie_name)
        self._pending_pattern = cookie_pattern(self.pending_jar.name)
        self._clear_session: Headers = [
            *PRIVATE,
            ("set-cookie", self.session_jar.clear()),
        ]
        self.token_param = settings.token_param
        self.token_header = settings.token_header.lower()

        prefix = settings.prefix
        handlers = {
            "/login": endpoints.login,
            "/logout": endpoints.logout,
            "/me": endpoints.me,
            "/bind/complete": endpoints.bind_complete,
        }
        if settings.expose_access_token:
            handlers["/access-token"] = endpoints.access_token
        #: Path -> flow, for the endpoints the middleware answers itself.
        self.routes: dict[str, Callable[[RequestView], Flow]] = {
            prefix + path: functools.partial(handler, self)
            for path, handler in handlers.items()
        }

    # -- the hot path ------------------------------------------------------

    def read_cookie(self, header: str | None) -> tuple[User | None, Headers]:
        """The session user in a ``Cookie`` header, and headers to answer with.

        A missing cookie gives no user; a bad one (tampered, expired,
        oversized, repeated) gives no user and headers that clear it.
        Revocation is the caller's to check.
        """
        if header is None:
            return None, _VARY
        value = find_cookie(header, self._session_pattern)
        if value is None:
            return None, _VARY
        if value is DUPLICATE:
            logger.debug("session cookie refused: the name occurs twice")
            return None, self._clear_session

        user = self.sessions.read(value)
        if user is None:
            return None, self._clear_session
        return user, PRIVATE

    @property
    def constant_headers(self) -> tuple[Headers, ...]:
        """The header lists the hot path hands out, the same object each time."""
        return (_VARY, PRIVATE, self._clear_session)

    def revoked_headers(self) -> Headers:
        """Headers for a request whose session turned out to be revoked."""
        logger.debug("session cookie refused: revoked")
        return self._clear_session

    # -- everything else ---------------------------------------------------

    def flow(self, request: RequestView) -> Flow:
        """Decide one request that is not a plain cookie-carrying one."""
        route = self.routes.get(request.path)
        if route is not None:
            return (yield from route(request))

        token, from_query = self._find_token(request)
        if token is not None:
            return (yield from self._token_login(request, token, from_query))
        return (yield from self.session(request))

    def pending_identity(self, cookie_header: str | None) -> Identity | None:
        """The verified identity waiting for the bind page, if any."""
        if cookie_header is None:
            return None
        value = find_cookie(cookie_header, self._pending_pattern)
        if value is None or value is DUPLICATE:
            return None
        return self.pending.read(value)

    def session(self, request: RequestView) -> Flow:
        """The request's session user, revocation checked, as a ``Proceed``."""
        user, headers = self.read_cookie(request.headers.get("cookie"))
        if user is not None and (yield IsRevoked(user.session_id)):
            return Proceed(ANONYMOUS, self.revoked_headers())
        return Proceed(user or ANONYMOUS, headers)

    def _find_token(self, request: RequestView) -> tuple[str | None, bool]:
        header = request.headers.get(self.token_header)
        if header is not None:
            return header.strip(), False
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            if key == self.token_param:
                return value, True
        return None, False

    def _token_login(self, request: RequestView, token: str, from_query: bool) -> Flow:
        # A token in the URL is gone from the app's view of the request and,
        # for a browser, from its address bar: it must not linger in
        # history, access logs or a Referer header.
        browser = is_browser(request.headers.get("accept"))
        clean_url = request.url_without(self.token_param) if from_query else None

        outcome = yield from self.verify_token(token)
        if isinstance(outcome, Answer):
            return outcome
        next_url = clean_url or request.url
        admitted = yield from self.admit(outcome, request, next_url)
        if isinstance(admitted, Answer):
            return admitted

        user, cookies = admitted
        if from_query and browser and request.method in ("GET", "HEAD"):
            return redirect(next_url, [*NO_REFERRER, *cookies])
        query = clean_url.partition("?")[2] if clean_url is not None else None
        return Proceed(user, [*PRIVATE, *NO_REFERRER, *cookies], query=query)

    def verify_token(self, token: str) -> Generator[Effect, Any, Identity | Answer]:
        """The identity a token stands for, or the answer refusing it."""
        if not self.settings.token_regex.fullmatch(token):
            logger.debug("identity token refused: wrong shape")
            return error("InvalidIdentityToken", 400, NO_REFERRER)
        try:
            identity: Identity = yield Resolve(token)
        except InvalidIdentityToken:
            return error("InvalidIdentityToken", 400, NO_REFERRER)
        except Y2WError as exc:
            return gateway_failure(exc)
        return identity

    def admit(
        self, identity: Identity, request: RequestView, next_url: str
    ) -> Generator[Effect, Any, tuple[User, Headers] | Answer]:
        """Session cookies for a known person; the bind answer for others."""
        if self.has_user_loader and (yield LoadUser(identity)) is None:
            return self._unbound(identity, request, next_url)

        value, user = self.sessions.issue(identity.uid, identity.name)
        logger.debug("session issued")
        cookies = [("set-cookie", self.session_jar.set(value, self.max_age(user)))]
        if self.pending_identity(request.headers.get("cookie")) is not None:
            cookies.append(("set-cookie", self.pending_jar.clear()))
        return user, cookies

    def _unbound(
        self, identity: Identity, request: RequestView, next_url: str
    ) -> Answer:
        bind_url = self.settings.bind_url
        if bind_url is None:
            logger.debug("person unknown to user_loader and no bind URL")
            return error("NotBound", 403, NO_REFERRER)

        pending = self.pending.issue(identity)
        cookie = ("set-cookie", self.pending_jar.set(pending, self.pending.max_age))
        logger.debug("person unknown to user_loader: sent to bind")
        if is_browser(request.headers.get("accept")):
            target = with_next(bind_url, safe_next(next_url))
            return redirect(target, [*NO_REFERRER, cookie])
        return error("NotBound", 403, [*NO_REFERRER, cookie])

    def max_age(self, user: User) -> int:
        """Seconds left in *user*'s session, for a cookie's Max-Age."""
        remaining = user.session_expires.timestamp() - self.sessions.now()
        return max(int(remaining), 0)
