"""Fixtures of the conformance suite: one app, two adapters, one client.

Every test here is written once and runs twice, through the ``client``
fixture parametrised over ``"asgi"`` and ``"wsgi"``:

- ``asgi``: a Starlette app wrapped in ``Y2WMiddleware``, driven by
  Starlette's ``TestClient`` (entered, so its lifespan runs);
- ``wsgi``: a Flask app wrapped in ``Y2WWSGIMiddleware`` and checked by
  ``wsgiref.validate.validator``, driven by ``httpx2.Client`` over
  ``httpx2.WSGITransport``.

Both apps have the same routes: ``/`` (public, echoes the user and the
query string it saw), ``/private`` (``login_required``), ``/admin``
(``login_required(allow=...)``) and ``/bind`` (``get_pending_identity``).
Each middleware talks to a ``FakeGateway`` through a transport, so no
socket is opened. An autouse fixture records every log line of the test
and fails it if a token, a secret or a cookie value shows up in one.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit
from wsgiref.validate import validator

import httpx2
import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.authentication import BaseUser, requires
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from y2w_middleware import (
    AsyncGatewayClient,
    GatewayClient,
    Identity,
    Settings,
    Y2WMiddleware,
    Y2WWSGIMiddleware,
    get_pending_identity,
    get_user,
    login_required,
)
from y2w_middleware.flask import current_user
from y2w_middleware.testing import FakeGateway
from y2w_middleware.testing._contract import Reply

#: A base URL only the fake's transport answers.
GATEWAY_URL = "http://gw.test"
SESSION_SECRET = "conformance-session-secret-0123456789"
#: A key that signed sessions before the last rotation.
OLD_SESSION_SECRET = "conformance-old-session-secret-9876543210"
#: The person most tests log in as, in the vendor's example.
UID, NAME = "f3292423", "张德强"

Kind = Literal["asgi", "wsgi"]
LoaderKind = Literal["sync", "async", "none"]


# -- the gateway and the app's directory -----------------------------------


class RecordingGateway(FakeGateway):
    """A FakeGateway that remembers every token it hands out.

    The log-leak check needs them: identity tokens from
    :meth:`issue_identity_token`, access tokens from the answers of the
    token endpoint (and :meth:`issue_access_token`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.identity_tokens: set[str] = set()
        self.access_tokens: set[str] = set()

    def issue_identity_token(
        self, uid: str, name: str, *, ttl: float = 300, token: str | None = None
    ) -> str:
        issued = super().issue_identity_token(uid, name, ttl=ttl, token=token)
        self.identity_tokens.add(issued)
        return issued

    def issue_access_token(self) -> str:
        issued = super().issue_access_token()
        self.access_tokens.add(issued)
        return issued

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> Reply:
        reply = super().handle(method, path, query, headers)
        if reply.status == 200 and b"accessToken" in reply.body:
            self.access_tokens.add(json.loads(reply.body)["accessToken"])
        return reply

    @property
    def total_calls(self) -> int:
        """Requests received so far, on any endpoint."""
        return sum(self.calls.values())


class People:
    """The app's own directory, as its ``user_loader`` sees it.

    Everyone is known unless their uid is in :attr:`unknown`; flip that to
    play "the bind page has now created the account".
    """

    def __init__(self) -> None:
        self.unknown: set[str] = set()
        self.loaded: list[str] = []

    def load(self, identity: Identity) -> dict[str, str] | None:
        """The sync ``user_loader``."""
        self.loaded.append(identity.uid)
        if identity.uid in self.unknown:
            return None
        return {"uid": identity.uid}

    async def aload(self, identity: Identity) -> dict[str, str] | None:
        """The async ``user_loader`` (ASGI only)."""
        return self.load(identity)


# -- the log-leak check ----------------------------------------------------


@dataclass
class Leaks:
    """Values that must never appear in a log record, with a label each."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, value: object, label: str) -> None:
        """Remember *value* (a str or a ``Secret``) as something never to log."""
        reveal = getattr(value, "reveal", None)
        text = reveal() if callable(reveal) else value
        if isinstance(text, str) and text:
            self.values.setdefault(text, label)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_LOGGERS = ("", "y2w_middleware", "httpx2", "httpcore2")


def _is_test_client_line(record: logging.LogRecord) -> bool:
    # The test's own HTTP client plays the browser: its httpx2 request
    # lines name the URL the browser asked for, token included. That is
    # the browser's business, not the middleware's, so those are skipped.
    # (The package's URL filter may have turned the URL into a string.)
    args = record.args if isinstance(record.args, tuple) else ()
    return record.name == "httpx2" and any(
        urlsplit(str(arg)).hostname == "testserver" for arg in args
    )


@pytest.fixture
def leaks() -> Leaks:
    """The registry of values the log-leak check looks for."""
    return Leaks()


@pytest.fixture(autouse=True)
def log_records(
    caplog: pytest.LogCaptureFixture, leaks: Leaks, gw: RecordingGateway
) -> Iterator[list[logging.LogRecord]]:
    """Every log record of the test, at DEBUG; none may hold a secret."""
    # caplog only keeps one phase at a time; a handler of our own on the
    # root logger sees setup, call and teardown (the lifespan's shutdown).
    handler = _ListHandler()
    root = logging.getLogger()
    for name in _LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)  # restored by caplog
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)

    leaks.add(gw.secret, "the app secret")
    for token in gw.identity_tokens:
        leaks.add(token, "an identity token")
    for token in gw.access_tokens:
        leaks.add(token, "an access token")

    found = find_leaks([*handler.records, *caplog.records], leaks)
    assert not found, "secrets in the logs:\n" + "\n".join(found)


def find_leaks(records: Iterable[logging.LogRecord], leaks: Leaks) -> list[str]:
    """Where the values of *leaks* appear in *records*, described by label."""
    found: set[str] = set()
    for record in {id(record): record for record in records}.values():
        if _is_test_client_line(record):
            continue
        text = record.getMessage() + "\n" + repr(record.args)
        found.update(
            f"{label} in a {record.levelname} line of {record.name!r}"
            for value, label in leaks.values.items()
            if value in text
        )
    return sorted(found)


# -- the two apps ------------------------------------------------------------


def _name(user: object) -> str:
    if isinstance(user, BaseUser) and user.is_authenticated:
        return user.display_name
    return "anonymous"


def _page(user: object, native: object, context: object, query: str) -> dict[str, Any]:
    """What ``/`` answers: the user three ways, and the query it saw."""
    return {
        "user": _name(user),
        "native": _name(native),
        "context": _name(context),
        "query": query,
    }


def _pending(identity: Identity | None) -> dict[str, Any]:
    if identity is None:
        return {"pending": None}
    return {"pending": {"id": identity.id, "uid": identity.uid, "name": identity.name}}


def is_admin(user: BaseUser) -> bool:
    """The ``allow`` predicate of ``/admin``."""
    return getattr(user, "uid", None) == "admin"


def build_starlette(events: list[str]) -> Starlette:
    """The ASGI app, with a lifespan, ``@requires`` and a websocket."""

    async def home(request: Request) -> JSONResponse:
        query = request.scope["query_string"].decode("latin-1")
        page = _page(get_user(request), request.scope.get("user"), get_user(), query)
        page["auth"] = list(request.auth.scopes)
        return JSONResponse(page)

    @login_required
    async def private(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.user.display_name})

    @login_required(allow=is_admin)
    async def admin(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.user.display_name})

    async def bind(request: Request) -> JSONResponse:
        return JSONResponse(_pending(get_pending_identity(request)))

    @requires("authenticated")
    async def starlette_only(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"hello {request.user.display_name}")

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.user.display_name or "anonymous")
        await websocket.close()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/private", private),
            Route("/admin", admin),
            Route("/bind", bind),
            Route("/requires", starlette_only),
            WebSocketRoute("/ws", socket),
        ],
        lifespan=lifespan,
    )


def build_flask() -> Flask:
    """The WSGI app: the same routes, as Flask views."""
    app = Flask("conformance")

    @app.get("/")
    def home() -> dict[str, Any]:
        query = request.query_string.decode("latin-1")
        native = request.environ.get("y2w.user")
        return _page(get_user(request), native, get_user(), query)

    @app.get("/private")
    @login_required
    def private() -> dict[str, Any]:
        return {"user": current_user.display_name}

    @app.get("/admin")
    @login_required(allow=is_admin)
    def admin() -> dict[str, Any]:
        return {"user": current_user.display_name}

    @app.get("/bind")
    def bind() -> dict[str, Any]:
        return _pending(get_pending_identity(request))

    return app


# -- the uniform client ------------------------------------------------------


@dataclass(frozen=True)
class SetCookie:
    """One ``Set-Cookie`` header, parsed."""

    name: str
    value: str
    attributes: dict[str, str]
    flags: frozenset[str]

    @classmethod
    def parse(cls, header: str) -> SetCookie:
        """Split ``name=value; Attr=x; Flag`` into its parts (names lowered)."""
        first, *rest = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        attributes: dict[str, str] = {}
        flags: set[str] = set()
        for part in rest:
            key, sep, val = part.partition("=")
            if sep:
                attributes[key.lower()] = val
            else:
                flags.add(key.lower())
        return cls(name, value, attributes, frozenset(flags))

    @property
    def clears(self) -> bool:
        """Whether this header makes the browser drop the cookie."""
        return self.value == "" and self.attributes.get("max-age") == "0"


@dataclass
class AppClient:
    """One adapter behind the same face: an httpx2 client and its parts.

    Attribute access falls through to the httpx2 client, so a test says
    ``client.get("/private")`` whichever adapter it runs against.
    """

    kind: Kind
    http: httpx2.Client
    gw: RecordingGateway
    people: People
    settings: Settings
    middleware: Y2WMiddleware | Y2WWSGIMiddleware
    leaks: Leaks
    events: list[str]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    @property
    def cookie_name(self) -> str:
        """The session cookie's name."""
        return self.settings.cookie_name

    @property
    def pending_name(self) -> str:
        """The name of the cookie carrying an identity to the bind page."""
        return self.settings.cookie_name + "_bind"

    @property
    def session(self) -> str | None:
        """The session cookie the client holds, if any."""
        return self.http.cookies.get(self.cookie_name)

    def token(self, uid: str = UID, name: str = NAME, *, ttl: float = 300) -> str:
        """An identity token from the fake, as the face component gets one."""
        return self.gw.issue_identity_token(uid, name, ttl=ttl)

    def login(self, uid: str = UID, name: str = NAME) -> httpx2.Response:
        """Log in through ``POST /y2w/login`` (JSON), as an API client would."""
        response = self.http.post(
            self.settings.prefix + "/login",
            json={"identityToken": self.token(uid, name)},
        )
        assert response.status_code == 200, response.text
        assert self.session is not None
        return response

    def with_cookie(self, method: str, path: str, cookie: str, **kw: Any) -> Any:
        """Send a request carrying exactly *cookie* as its ``Cookie`` header."""
        self.http.cookies.clear()
        headers = {**kw.pop("headers", {}), "cookie": cookie}
        return self.http.request(method, path, headers=headers, **kw)

    def set_cookie(self, response: httpx2.Response, name: str | None = None) -> Any:
        """The parsed ``Set-Cookie`` for *name* (the session's by default)."""
        name = name or self.cookie_name
        found = [
            SetCookie.parse(header)
            for header in response.headers.get_list("set-cookie")
            if header.startswith(name + "=")
        ]
        assert len(found) <= 1, f"{name} set twice"
        return found[0] if found else None


def _record_cookies(leaks: Leaks) -> Callable[[httpx2.Response], None]:
    def hook(response: httpx2.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            value = SetCookie.parse(header).value
            leaks.add(value, "a Set-Cookie value")

    return hook


def build_client(
    kind: Kind,
    gw: RecordingGateway,
    people: People,
    leaks: Leaks,
    stack: contextlib.ExitStack,
    *,
    loader: LoaderKind | Callable[[Identity], Any] = "sync",
    **overrides: Any,
) -> AppClient:
    """The conformance app for *kind*, wrapped, and a client to drive it.

    *loader* names one of :class:`People`'s loaders, or is the loader itself.
    """
    values: dict[str, Any] = {
        "appid": gw.appid,
        "secret": gw.secret,
        "session_secret": SESSION_SECRET,
        "gateway_url": GATEWAY_URL,
        "cookie_secure": False,
        "login_url": "/login",
        "bind_url": "/bind",
        **overrides,
    }
    settings = Settings(**values)
    leaks.add(settings.session_secret, "the session secret")
    for key in settings.session_secret_fallbacks:
        leaks.add(key, "a fallback session secret")

    user_loader: Any = loader
    if isinstance(loader, str):
        user_loader = {"sync": people.load, "async": people.aload, "none": None}[loader]
    events: list[str] = []
    http: httpx2.Client
    middleware: Y2WMiddleware | Y2WWSGIMiddleware
    if kind == "asgi":
        gateway = AsyncGatewayClient(settings, transport=gw.transport())
        middleware = Y2WMiddleware(
            build_starlette(events), settings, user_loader, client=gateway
        )
        http = stack.enter_context(TestClient(middleware, follow_redirects=False))
    else:
        sync_gateway = GatewayClient(settings, transport=gw.transport())
        stack.callback(sync_gateway.close)
        middleware = Y2WWSGIMiddleware(
            build_flask().wsgi_app, settings, user_loader, client=sync_gateway
        )
        stack.callback(middleware.close)
        transport = httpx2.WSGITransport(app=validator(middleware))
        http = stack.enter_context(
            httpx2.Client(
                transport=transport,
                base_url="http://testserver",
                follow_redirects=False,
            )
        )
    http.event_hooks = {"request": [], "response": [_record_cookies(leaks)]}
    return AppClient(kind, http, gw, people, settings, middleware, leaks, events)


# -- fixtures ---------------------------------------------------------------


@pytest.fixture
def gw() -> RecordingGateway:
    """A fresh fake gateway that remembers what it issued."""
    return RecordingGateway()


@pytest.fixture
def people() -> People:
    """The app's directory: everyone known until told otherwise."""
    return People()


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Which adapter the test runs against."""
    value: Kind = request.param
    return value


@pytest.fixture
def make_client(
    kind: Kind, gw: RecordingGateway, people: People, leaks: Leaks
) -> Iterator[Callable[..., AppClient]]:
    """Build a client for this test's adapter, with settings overrides."""
    with contextlib.ExitStack() as stack:

        def make(**overrides: Any) -> AppClient:
            return build_client(kind, gw, people, leaks, stack, **overrides)

        yield make


@pytest.fixture
def make_asgi_client(
    gw: RecordingGateway, people: People, leaks: Leaks
) -> Iterator[Callable[..., AppClient]]:
    """Build a client for the ASGI adapter only (lifespan, websockets)."""
    with contextlib.ExitStack() as stack:

        def make(**overrides: Any) -> AppClient:
            return build_client("asgi", gw, people, leaks, stack, **overrides)

        yield make


@pytest.fixture
def client(make_client: Callable[..., AppClient]) -> AppClient:
    """The default client: login URL ``/login``, bind URL ``/bind``."""
    return make_client()
