"""``login_required``: bare or with options, sync or async, on any endpoint kind."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.validate import validator

import httpx2
import pytest
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from y2w_middleware import (
    AsyncGatewayClient,
    GatewayClient,
    Settings,
    User,
    Y2WMiddleware,
    Y2WWSGIMiddleware,
    get_user,
    login_required,
)
from y2w_middleware.testing import FakeGateway

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}
UID, NAME = "f3292423", "张德强"


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def settings(gw: FakeGateway) -> Settings:
    return Settings(
        appid=gw.appid,
        secret=gw.secret,
        session_secret="decorator-tests-session-secret-0123",
        gateway_url="http://gw.test",
        cookie_secure=False,
        login_url="/login",
    )


@pytest.fixture
def serve(gw: FakeGateway, settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """A TestClient for a Starlette app of *routes* behind ``Y2WMiddleware``."""
    from starlette.applications import Starlette

    clients: list[TestClient] = []

    def make(*routes: Any) -> TestClient:
        client = AsyncGatewayClient(settings, transport=gw.transport())
        app = Y2WMiddleware(Starlette(routes=list(routes)), settings, client=client)
        test_client = TestClient(app, follow_redirects=False)
        clients.append(test_client.__enter__())
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


def _login(client: httpx2.Client, gw: FakeGateway, uid: str = UID) -> None:
    token = gw.issue_identity_token(uid, NAME)
    response = client.post("/y2w/login", json={"identityToken": token})
    assert response.status_code == 200


# -- the decorator itself ---------------------------------------------------


async def _async_view(request: Request, *, flag: int = 1) -> PlainTextResponse:
    """An async view."""
    return PlainTextResponse(f"hello {request.user.display_name}")


def _sync_view(request: Request, *, flag: int = 1) -> PlainTextResponse:
    """A sync view."""
    return PlainTextResponse(f"hello {request.user.display_name}")


VIEWS = {"async": _async_view, "sync": _sync_view}
DECORATORS = {
    "bare": login_required,
    "empty-call": login_required(),
    "allow": login_required(allow=lambda user: True),
    "no-redirect": login_required(redirect=False),
}


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
@pytest.mark.parametrize("decorate", DECORATORS.values(), ids=DECORATORS.keys())
def test_wrapper_keeps_the_signature(
    view: Callable[..., Any], decorate: Callable[[Any], Any]
) -> None:
    """The wrapper keeps name, docstring, signature, ``__wrapped__`` and kind."""
    wrapped = decorate(view)

    assert wrapped.__wrapped__ is view
    assert wrapped.__name__ == view.__name__
    assert wrapped.__doc__ == view.__doc__
    assert inspect.signature(wrapped) == inspect.signature(view)
    assert inspect.iscoroutinefunction(wrapped) == inspect.iscoroutinefunction(view)


@pytest.mark.parametrize("options", [{"allow": 5}, {"allow": "x"}, {"redirect": 1}])
def test_misuse_is_a_type_error(options: dict[str, Any]) -> None:
    """Options of the wrong type raise ``TypeError`` when decorating."""
    with pytest.raises(TypeError):
        login_required(**options)


def test_decorating_a_non_callable_is_a_type_error() -> None:
    """``login_required`` on something that is not a function raises ``TypeError``."""
    with pytest.raises(TypeError):
        login_required(5)  # type: ignore[call-overload]


def test_call_outside_any_request_explains_itself() -> None:
    """Called with no request anywhere, the wrapper says the middleware is missing."""

    @login_required
    def view() -> str:
        return "never"

    with pytest.raises(RuntimeError, match="Y2WMiddleware"):
        view()


def test_request_without_the_middleware_explains_itself() -> None:
    """A request that never went through the middleware is an error, not a 401."""
    from starlette.applications import Starlette

    @login_required
    async def page(request: Request) -> PlainTextResponse:
        return PlainTextResponse("never")

    app = Starlette(routes=[Route("/", page)])

    with (
        TestClient(app) as client,
        pytest.raises(RuntimeError, match="Y2WMiddleware"),
    ):
        client.get("/")


# -- on Starlette endpoints ---------------------------------------------------


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
@pytest.mark.parametrize(
    "decorate",
    [login_required, login_required()],
    ids=["bare", "empty-call"],
)
def test_starlette_endpoint_needs_a_session(
    serve: Callable[..., TestClient],
    gw: FakeGateway,
    view: Callable[..., Any],
    decorate: Callable[[Any], Any],
) -> None:
    """A protected endpoint answers 401 without a session and runs with one."""
    client = serve(Route("/p", decorate(view)))

    refused = client.get("/p", headers=API)
    _login(client, gw)
    allowed = client.get("/p")

    assert refused.status_code == 401
    assert refused.json()["error"] == "LoginRequired"
    assert "cookie" in refused.headers["vary"].lower()
    assert allowed.status_code == 200
    assert allowed.text == f"hello {NAME}"


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
def test_browser_is_sent_to_the_login_url(
    serve: Callable[..., TestClient], view: Callable[..., Any]
) -> None:
    """A browser without a session gets 303 to the login URL with ``next``."""
    client = serve(Route("/p", login_required(view)))

    response = client.get("/p?a=1", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/p%3Fa%3D1"


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
def test_no_redirect_gives_browsers_401(
    serve: Callable[..., TestClient], view: Callable[..., Any]
) -> None:
    """With ``redirect=False`` a browser without a session gets 401 JSON."""
    client = serve(Route("/p", login_required(redirect=False)(view)))

    response = client.get("/p", headers=HTML)

    assert response.status_code == 401
    assert response.json()["error"] == "LoginRequired"


def test_browser_without_login_url_gets_401(
    gw: FakeGateway, settings: Settings
) -> None:
    """Without a login URL there is nowhere to redirect: 401 for browsers too."""
    from starlette.applications import Starlette

    bare = Settings(
        appid=settings.appid,
        secret=settings.secret,
        session_secret=settings.session_secret,
        gateway_url=settings.gateway_url,
        cookie_secure=False,
    )
    app = Starlette(routes=[Route("/p", login_required(_async_view))])
    client = AsyncGatewayClient(bare, transport=gw.transport())
    with TestClient(Y2WMiddleware(app, bare, client=client)) as test_client:
        response = test_client.get("/p", headers=HTML, follow_redirects=False)

    assert response.status_code == 401


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
def test_allow_predicate_gets_the_user(
    serve: Callable[..., TestClient], gw: FakeGateway, view: Callable[..., Any]
) -> None:
    """``allow`` receives the ``User``; refusing gives 403 ``Forbidden``."""
    seen: list[Any] = []

    def allow(user: Any) -> bool:
        seen.append(user)
        return bool(user.uid == "admin")

    client = serve(Route("/p", login_required(allow=allow)(view)))
    _login(client, gw)

    refused = client.get("/p", headers=HTML)
    _login(client, gw, uid="admin")
    allowed = client.get("/p")

    assert refused.status_code == 403
    assert refused.json()["error"] == "Forbidden"
    assert allowed.status_code == 200
    assert [user.uid for user in seen] == [UID, "admin"]
    assert all(isinstance(user, User) for user in seen)


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
def test_options_passes_without_a_session(
    serve: Callable[..., TestClient], view: Callable[..., Any]
) -> None:
    """``OPTIONS`` (CORS preflight, no cookies) reaches the view untouched."""
    client = serve(Route("/p", login_required(view), methods=["GET", "OPTIONS"]))

    response = client.options("/p")

    assert response.status_code == 200
    assert response.text == "hello "


def test_http_endpoint_method(
    serve: Callable[..., TestClient], gw: FakeGateway
) -> None:
    """On a class-based endpoint's method the request is found after ``self``."""

    class Page(HTTPEndpoint):
        @login_required
        async def get(self, request: Request) -> JSONResponse:
            return JSONResponse({"user": request.user.display_name})

    client = serve(Route("/p", Page))

    assert client.get("/p").status_code == 401
    _login(client, gw)
    assert client.get("/p").json() == {"user": NAME}


def test_websocket_endpoint_is_closed_without_a_session(
    serve: Callable[..., TestClient], gw: FakeGateway
) -> None:
    """A protected websocket is closed with 1008 without a session, served with one."""

    @login_required
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.user.display_name)
        await websocket.close()

    client = serve(WebSocketRoute("/ws", socket))

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws") as websocket,
    ):
        websocket.receive_text()
    assert refused.value.code == 1008

    _login(client, gw)
    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == NAME


# -- on a bare WSGI callable ----------------------------------------------------


@login_required
def _wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A bare WSGI app, protected as a whole."""
    name = get_user(environ).display_name
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [f"hello {name}".encode()]


@pytest.fixture
def wsgi_client(gw: FakeGateway, settings: Settings) -> Iterator[httpx2.Client]:
    """An httpx2 client for ``_wsgi_app`` behind ``Y2WWSGIMiddleware``."""
    gateway = GatewayClient(settings, transport=gw.transport())
    app = validator(Y2WWSGIMiddleware(_wsgi_app, settings, client=gateway))
    transport = httpx2.WSGITransport(app=app)
    with gateway, httpx2.Client(transport=transport, base_url="http://testserver") as c:
        yield c


def test_bare_wsgi_callable_needs_a_session(
    wsgi_client: httpx2.Client, gw: FakeGateway
) -> None:
    """A protected WSGI callable answers 401 JSON, then runs once logged in."""
    refused = wsgi_client.get("/", headers=API)
    _login(wsgi_client, gw)
    allowed = wsgi_client.get("/")

    assert refused.status_code == 401
    assert refused.json()["error"] == "LoginRequired"
    assert allowed.text == f"hello {NAME}"


def test_bare_wsgi_callable_redirects_browsers(wsgi_client: httpx2.Client) -> None:
    """A browser reaching a protected WSGI callable is sent to the login URL."""
    response = wsgi_client.get("/x?y=1", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/x%3Fy%3D1"
