"""The login journey over real HTTP: uvicorn (ASGI) and wsgiref (WSGI).

Each server runs in a background thread on an ephemeral 127.0.0.1 port,
and the middleware talks to a ``FakeGateway`` served over HTTP too, so
every hop is a real socket.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.validate import validator

import httpx2
import pytest
import uvicorn
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from y2w_middleware import (
    Settings,
    Y2WMiddleware,
    Y2WWSGIMiddleware,
    get_user,
    login_required,
)
from y2w_middleware.testing import FakeGateway

UID, NAME = "f3292423", "张德强"


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def settings(gw: FakeGateway) -> Iterator[Settings]:
    """Settings pointing at the fake gateway, served for the test."""
    with gw.serve() as url:
        yield Settings(
            appid=gw.appid,
            secret=gw.secret,
            session_secret="server-tests-session-secret-0123456789",
            gateway_url=url,
            cookie_secure=False,
            timeout=2,
        )


# -- the servers ------------------------------------------------------------


@contextlib.contextmanager
def run_uvicorn(app: Any) -> Iterator[str]:
    """Serve *app* with uvicorn in a thread; yield its base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        log_level="warning",
        ws="none",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can hang on
        # a machine without a resolver; the name is not needed here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), port
        self.setup_environ()


@contextlib.contextmanager
def run_wsgiref(app: Any) -> Iterator[str]:
    """Serve *app* with a threaded ``wsgiref`` server; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, _ThreadingServer, _QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="wsgiref",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- the apps -----------------------------------------------------------------


def asgi_app(settings: Settings) -> Any:
    @login_required
    async def private(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.user.display_name})

    async def home(request: Request) -> JSONResponse:
        return JSONResponse({"user": get_user(request).display_name})

    app = Starlette(routes=[Route("/", home), Route("/private", private)])
    return Y2WMiddleware(app, settings)


def wsgi_app(settings: Settings) -> Any:
    app = Flask(__name__)

    @app.get("/")
    def home() -> dict[str, str]:
        return {"user": get_user().display_name}

    @app.get("/private")
    @login_required
    def private() -> dict[str, str]:
        return {"user": get_user().display_name}

    middleware = Y2WWSGIMiddleware(app.wsgi_app, settings)
    return validator(middleware), middleware.client.close


@contextlib.contextmanager
def asgi_server(settings: Settings) -> Iterator[str]:
    with run_uvicorn(asgi_app(settings)) as url:
        yield url


@contextlib.contextmanager
def wsgi_server(settings: Settings) -> Iterator[str]:
    app, close = wsgi_app(settings)
    try:
        with run_wsgiref(app) as url:
            yield url
    finally:
        close()


SERVERS = {"uvicorn": asgi_server, "wsgiref": wsgi_server}


@pytest.mark.parametrize("server", SERVERS.values(), ids=SERVERS.keys())
def test_login_cookie_protected_page_journey(
    server: Callable[[Settings], contextlib.AbstractContextManager[str]],
    settings: Settings,
    gw: FakeGateway,
) -> None:
    """Over real HTTP: refused, login, cookie-only visits, logout, refused again."""
    with server(settings) as url, httpx2.Client(base_url=url, timeout=5) as client:
        assert client.get("/private").status_code == 401

        token = gw.issue_identity_token(UID, NAME)
        login = client.post("/y2w/login", json={"identityToken": token})
        assert login.status_code == 200
        assert login.json()["uid"] == UID
        calls = gw.calls

        assert client.get("/private").json() == {"user": NAME}
        assert client.get("/").json() == {"user": NAME}
        assert gw.calls == calls

        assert client.post("/y2w/logout").status_code == 204
        assert client.get("/private").status_code == 401
