"""The framework-neutral decisions for one request, without any I/O.

``Core.flow(request)`` is a generator: it yields an *effect* whenever it
needs the outside world (the request body, a gateway call, the app's
``user_loader``, the revocation store) and receives the result back, or
the exception it raised. It returns either an ``Answer`` (the middleware
answers itself) or a ``Proceed`` (call the app with this user and add
these headers to its answer). The ASGI adapter drives it with ``await``,
the WSGI adapter with plain calls, so both behave the same by
construction.

Requests that carry only a session cookie never enter the generator: the
adapters call :meth:`Core.read_cookie` and check revocation themselves,
which keeps the hot path to a dict lookup and a clock read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from starlette.authentication import BaseUser

from ._answers import (
    NO_REFERRER,
    PRIVATE,
    Answer,
    Headers,
    error,
    is_browser,
    json_answer,
    redirect,
    safe_next,
    with_next,
)
from ._cookies import DUPLICATE, CookieJar, cookie_pattern, find_cookie
from ._identity import AnonymousUser, Identity, User
from ._logging import logger
from ._session import PendingCodec, SessionCodec
from ._settings import Settings
from .errors import (
    CredentialError,
    GatewayError,
    GatewayUnavailable,
    IdentityTokenError,
    InvalidIdentityToken,
    LimitExceeded,
    Y2WError,
)

__all__ = [
    "ANONYMOUS",
    "Core",
    "FetchAccessToken",
    "IsRevoked",
    "LoadUser",
    "Proceed",
    "ReadBody",
    "RequestView",
    "Resolve",
    "Revoke",
]

ANONYMOUS = AnonymousUser()
#: Login bodies are a token and a ``next``: anything bigger is not one.
MAX_BODY = 16 * 1024

_VARY: Headers = [("vary", "Cookie")]


# -- what the core needs from outside -------------------------------------


@dataclass(frozen=True, slots=True)
class ReadBody:
    """Read the request body, at most ``limit`` bytes (else ``None``)."""

    limit: int


@dataclass(frozen=True, slots=True)
class Resolve:
    """Ask the gateway who an identity token belongs to."""

    token: str

    def __repr__(self) -> str:
        return "Resolve(token='***')"


@dataclass(frozen=True, slots=True)
class LoadUser:
    """Call the app's ``user_loader``; answers its result (None: unknown)."""

    identity: Identity


@dataclass(frozen=True, slots=True)
class IsRevoked:
    """Whether a session id was revoked at logout."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Revoke:
    """Revoke a session id for ``ttl`` seconds (its remaining life)."""

    session_id: str
    ttl: float


@dataclass(frozen=True, slots=True)
class FetchAccessToken:
    """Get the (cached) access token for the front-end face component."""


Effect: TypeAlias = (
    ReadBody | Resolve | LoadUser | IsRevoked | Revoke | FetchAccessToken
)
Flow: TypeAlias = Generator[Effect, Any, "Answer | Proceed"]


# -- what goes in and what comes out ---------------------------------------


@dataclass(slots=True)
class RequestView:
    """The parts of a request the core looks at.

    ``headers`` has lower-case names; a repeated header is joined with
    ``", "`` except ``cookie``, joined with ``"; "``.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]

    @property
    def url(self) -> str:
        """The path and query, as a relative URL."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(slots=True)
class Proceed:
    """Call the app with ``user``; add ``headers`` to its answer.

    ``query``, when set, replaces the query string the app sees: the
    identity token is taken out, so it never reaches the app's own logs.
    """

    user: BaseUser
    headers: Headers
    query: str | None = None


# -- the decisions ---------------------------------------------------------


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
        self.prefix = prefix + "/"
        routes: dict[str, Callable[[RequestView], Flow]] = {
            prefix + "/login": self._login,
            prefix + "/logout": self._logout,
            prefix + "/me": self._me,
            prefix + "/bind/complete": self._bind_complete,
        }
        if settings.expose_access_token:
            routes[prefix + "/access-token"] = self._access_token
        self.routes = routes

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
        return (yield from self._session(request))

    def pending_identity(self, cookie_header: str | None) -> Identity | None:
        """The verified identity waiting for the bind page, if any."""
        if cookie_header is None:
            return None
        value = find_cookie(cookie_header, self._pending_pattern)
        if value is None or value is DUPLICATE:
            return None
        return self.pending.read(value)

    def _session(self, request: RequestView) -> Flow:
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
        clean_url = without_param(request, self.token_param) if from_query else None

        outcome = yield from self._verify_token(token)
        if isinstance(outcome, Answer):
            return outcome
        next_url = clean_url or request.url
        admitted = yield from self._admit(outcome, request, next_url)
        if isinstance(admitted, Answer):
            return admitted

        user, cookies = admitted
        headers = [*PRIVATE, *NO_REFERRER, *cookies]
        if from_query and browser and request.method in ("GET", "HEAD"):
            return redirect(next_url, [*NO_REFERRER, *cookies])
        query = clean_url.partition("?")[2] if clean_url is not None else None
        return Proceed(user, headers, query=query)

    def _verify_token(self, token: str) -> Generator[Effect, Any, Identity | Answer]:
        if not self.settings.token_regex.match(token):
            logger.debug("identity token refused: wrong shape")
            return error("InvalidIdentityToken", 400, NO_REFERRER)
        try:
            identity: Identity = yield Resolve(token)
        except InvalidIdentityToken:
            return error("InvalidIdentityToken", 400, NO_REFERRER)
        except Y2WError as exc:
            return gateway_failure(exc)
        return identity

    def _admit(
        self, identity: Identity, request: RequestView, next_url: str
    ) -> Generator[Effect, Any, tuple[User, Headers] | Answer]:
        """Session cookies for a known person; the bind answer for others."""
        if self.has_user_loader and (yield LoadUser(identity)) is None:
            return self._unbound(identity, request, next_url)

        value, user = self.sessions.issue(identity.uid, identity.name)
        logger.debug("session issued")
        cookies = [("set-cookie", self.session_jar.set(value, self._max_age(user)))]
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

    def _max_age(self, user: User) -> int:
        remaining = user.session_expires.timestamp() - self.sessions.now()
        return max(int(remaining), 0)

    # -- endpoints ---------------------------------------------------------

    def _login(self, request: RequestView) -> Flow:
        refused = self._refuse(request, "POST")
        if refused is not None:
            return refused
        fields = yield from _read_form(request)
        if isinstance(fields, Answer):
            return fields

        token = fields.get(self.token_param) or request.headers.get(self.token_header)
        if not token:
            return error("InvalidIdentityToken", 400)
        outcome = yield from self._verify_token(token.strip())
        if isinstance(outcome, Answer):
            return outcome

        next_url = safe_next(_query_value(request, "next") or fields.get("next"))
        admitted = yield from self._admit(outcome, request, next_url)
        if isinstance(admitted, Answer):
            return admitted

        user, cookies = admitted
        headers = [*NO_REFERRER, *cookies]
        if is_browser(request.headers.get("accept")):
            return redirect(next_url, headers)
        return json_answer(200, user.to_json(), headers)

    def _logout(self, request: RequestView) -> Flow:
        refused = self._refuse(request, "POST")
        if refused is not None:
            return refused

        user, _ = self.read_cookie(request.headers.get("cookie"))
        if user is not None:
            yield Revoke(user.session_id, self._max_age(user) + 1)
            logger.debug("session revoked at logout")
        headers = [
            ("set-cookie", self.session_jar.clear()),
            ("set-cookie", self.pending_jar.clear()),
        ]
        next_param = _query_value(request, "next")
        if next_param is not None or is_browser(request.headers.get("accept")):
            return redirect(safe_next(next_param), headers)
        return Answer(204, [*PRIVATE, *headers])

    def _me(self, request: RequestView) -> Flow:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("GET, HEAD")
        outcome = yield from self._session(request)
        assert isinstance(outcome, Proceed)
        if not isinstance(outcome.user, User):
            clear = [h for h in outcome.headers if h[0] == "set-cookie"]
            return error("LoginRequired", 401, clear)
        return json_answer(200, outcome.user.to_json())

    def _bind_complete(self, request: RequestView) -> Flow:
        refused = self._refuse(request, "POST")
        if refused is not None:
            return refused

        identity = self.pending_identity(request.headers.get("cookie"))
        if identity is None:
            return error("NotBound", 403)
        if self.has_user_loader and (yield LoadUser(identity)) is None:
            return error("NotBound", 403)

        value, user = self.sessions.issue(identity.uid, identity.name)
        headers = [
            ("set-cookie", self.session_jar.set(value, self._max_age(user))),
            ("set-cookie", self.pending_jar.clear()),
        ]
        return redirect(safe_next(_query_value(request, "next")), headers)

    def _access_token(self, request: RequestView) -> Flow:
        if request.method not in ("GET", "HEAD"):
            return _not_allowed("GET, HEAD")
        if request.headers.get("sec-fetch-site", "same-origin") not in _SAME_SITE:
            return error("CrossSiteRequest", 403)
        try:
            token = yield FetchAccessToken()
        except Y2WError as exc:
            return gateway_failure(exc)
        # The one answer that carries an access token, on purpose (DESIGN.md).
        body = {"accessToken": token.value, "expires": token.expires_in}
        return json_answer(200, body)

    def _refuse(self, request: RequestView, method: str) -> Answer | None:
        if request.method != method:
            return _not_allowed(method)
        if not _same_origin(request):
            logger.debug("request refused: cross-site %s %s", method, request.path)
            return error("CrossSiteRequest", 403)
        return None


# -- helpers ---------------------------------------------------------------

_SAME_SITE = frozenset({"same-origin", "none"})


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


def _query_value(request: RequestView, name: str) -> str | None:
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        if key == name:
            return value
    return None


def without_param(request: RequestView, name: str) -> str:
    """The request's relative URL without query parameter *name*."""
    # Keep every other parameter byte for byte: only the token goes.
    kept = [
        part
        for part in request.query.split("&")
        if part and unquote_plus(part.split("=", 1)[0]) != name
    ]
    return request.path + ("?" + "&".join(kept) if kept else "")


def _not_allowed(allow: str) -> Answer:
    return error("MethodNotAllowed", 405, [("allow", allow)])


def gateway_failure(exc: Y2WError) -> Answer:
    """The documented answer for a failed gateway call (DESIGN.md table)."""
    if isinstance(exc, IdentityTokenError):
        return error(exc.code, 401, NO_REFERRER)
    if isinstance(exc, LimitExceeded):
        retry = str(exc.retry_after or 60)
        return error("LimitExceeded", 503, [("retry-after", retry), *NO_REFERRER])
    if isinstance(exc, CredentialError):
        # Waiting will not fix refused credentials: no Retry-After. The
        # client already logged the one ERROR line for this call.
        return error("GatewayMisconfigured", 503, NO_REFERRER)
    if isinstance(exc, GatewayUnavailable | GatewayError):
        retry = str(getattr(exc, "retry_after", None) or 5)
        return error("GatewayUnavailable", 503, [("retry-after", retry), *NO_REFERRER])
    raise exc
