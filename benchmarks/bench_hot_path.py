"""The hot path: what a session cookie costs each request, next to the field.

Run: ``python benchmarks/bench_hot_path.py`` (needs the ``test`` extra and
``flask-login``: ``pip install -e ".[test]" flask-login``).

Every stack answers the same cookie-authenticated request with a tiny
app, called in-process (no server, no socket), so what is measured is the
auth layer itself. Stacks run interleaved round by round and the median
round is kept, because a shared machine is noisy; quote the results as
overheads over the bare app of the same kind, and as ratios.

ASGI: bare app; ``Y2WMiddleware``; Starlette ``SessionMiddleware`` +
``AuthenticationMiddleware``. WSGI: a bare WSGI app and ``Y2WWSGIMiddleware``
around it (the middleware alone); then a bare Flask app, the same app with
``Y2WWSGIMiddleware``, and the same app with Flask-Login.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from y2w_middleware import Settings, Y2WMiddleware, Y2WWSGIMiddleware, get_user

SETTINGS = Settings(
    appid="bench-appid",
    secret="bench-secret",
    session_secret="bench-session-secret-0123456789",
    cookie_secure=True,
)


# -- ASGI ------------------------------------------------------------------


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    user = scope.get("user")
    body = b"hello " + (user.display_name.encode() if user is not None else b"")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def starlette_stack() -> tuple[Any, bytes]:
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        SimpleUser,
    )
    from starlette.middleware.authentication import AuthenticationMiddleware
    from starlette.middleware.sessions import SessionMiddleware

    class SessionBackend(AuthenticationBackend):
        async def authenticate(self, conn: Any) -> Any:
            uid = conn.session.get("uid")
            if uid is None:
                return None
            return AuthCredentials(["authenticated"]), SimpleUser(uid)

    app = SessionMiddleware(
        AuthenticationMiddleware(bare_asgi, backend=SessionBackend()),
        secret_key="bench-session-secret-0123456789",
    )
    cookie = asyncio.run(_starlette_cookie(app))
    return app, cookie


async def _starlette_cookie(app: Any) -> bytes:
    # Let SessionMiddleware itself sign a session holding a uid.
    from starlette.middleware.sessions import SessionMiddleware

    async def login(scope: Any, receive: Any, send: Any) -> None:
        scope["session"]["uid"] = "f3292423"
        await bare_asgi(scope, receive, send)

    signer = SessionMiddleware(login, secret_key="bench-session-secret-0123456789")
    headers: list[tuple[bytes, bytes]] = []

    async def capture(message: Any) -> None:
        if message["type"] == "http.response.start":
            headers.extend(message["headers"])

    await signer(_scope(b""), _receive, capture)
    value = next(v for k, v in headers if k == b"set-cookie")
    return value.split(b";")[0]


def y2w_asgi_stack() -> tuple[Any, bytes]:
    middleware = Y2WMiddleware(bare_asgi, SETTINGS)
    value, _ = middleware.core.sessions.issue("f3292423", "张德强")
    return middleware, b"y2w_session=" + value.encode()


async def _receive() -> Any:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def _scope(cookie: bytes) -> dict[str, Any]:
    headers = [(b"host", b"app.example"), (b"accept", b"*/*")]
    if cookie:
        headers.append((b"cookie", cookie))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("app.example", 443),
    }


def time_asgi(app: Any, cookie: bytes, requests: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for _ in range(requests):
            await app(_scope(cookie), _receive, _send)
        return time.perf_counter() - start

    return asyncio.run(run()) / requests


# -- WSGI ------------------------------------------------------------------


def bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    user = environ.get("y2w.user")
    body = b"hello " + (user.display_name.encode() if user is not None else b"")
    start_response("200 OK", [("content-type", "text/plain")])
    return [body]


def y2w_raw_wsgi_stack() -> tuple[Any, str]:
    middleware = Y2WWSGIMiddleware(bare_wsgi, SETTINGS)
    value, _ = middleware.core.sessions.issue("f3292423", "张德强")
    return middleware, f"y2w_session={value}"


def flask_app(name: str) -> Any:
    from flask import Flask

    # No secret_key: Flask's own session stays closed, as in an app that
    # leaves sessions to y2w.
    app = Flask(name)

    @app.get("/")
    def index() -> str:
        return "hello " + get_user().display_name

    return app


def flask_login_stack() -> tuple[Any, str]:
    from flask import Flask
    from flask_login import LoginManager, UserMixin, current_user, login_user

    app = Flask("flask_login_bench")
    app.secret_key = "bench-session-secret-0123456789"
    manager = LoginManager(app)

    class Person(UserMixin):
        def __init__(self, uid: str) -> None:
            self.id = uid

    @manager.user_loader
    def load(uid: str) -> Person:
        return Person(uid)

    @app.get("/")
    def index() -> str:
        return "hello " + str(current_user.get_id())

    @app.get("/login")
    def login() -> str:
        login_user(Person("f3292423"))
        return "ok"

    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return app.wsgi_app, f"session={cookie.value}"


def y2w_wsgi_stack() -> tuple[Any, str]:
    app = flask_app("y2w_bench")
    middleware = Y2WWSGIMiddleware(app.wsgi_app, SETTINGS)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    value, _ = middleware.core.sessions.issue("f3292423", "张德强")
    return app.wsgi_app, f"y2w_session={value}"


def _environ(cookie: str) -> dict[str, Any]:
    import io

    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "app.example",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "app.example",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def time_wsgi(app: Any, cookie: str, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        body = app(_environ(cookie), _start_response)
        b"".join(body)
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - start) / requests


# -- running ---------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--only",
        metavar="STACK",
        help="run one stack once, untimed (for count_instructions.sh)",
    )
    args = parser.parse_args(argv)

    # The bare apps get the same Cookie header as the y2w stacks: parsing
    # the header is part of every real request, not of the auth layer.
    asgi_y2w = y2w_asgi_stack()
    wsgi_y2w = y2w_wsgi_stack()
    bare_flask = flask_app("bare_bench").wsgi_app
    cases: dict[str, Callable[[], float]] = {}
    for label, (app, cookie) in {
        "asgi bare": (bare_asgi, asgi_y2w[1]),
        "asgi y2w": asgi_y2w,
        "asgi starlette session+auth": starlette_stack(),
    }.items():
        cases[label] = _bind(time_asgi, app, cookie, args.requests)
    raw_y2w = y2w_raw_wsgi_stack()
    for label, (app, text) in {
        "wsgi bare": (bare_wsgi, raw_y2w[1]),
        "wsgi y2w": raw_y2w,
        "wsgi flask bare": (bare_flask, wsgi_y2w[1]),
        "wsgi flask + y2w": wsgi_y2w,
        "wsgi flask + flask-login": flask_login_stack(),
    }.items():
        # Flask itself costs ~60 µs a request: fewer requests, same rounds.
        flask = label.startswith("wsgi flask")
        count = args.requests // 4 if flask else args.requests
        cases[label] = _bind(time_wsgi, app, text, count)

    if args.only is not None:
        cases[args.only]()
        return

    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.rounds):
        for label, case in cases.items():
            samples[label].append(case())
    report(samples)


def _bind(timer: Any, app: Any, cookie: Any, requests: int) -> Callable[[], float]:
    return lambda: float(timer(app, cookie, requests))


def report(samples: dict[str, list[float]]) -> None:
    median = {
        label: statistics.median(values) * 1e6 for label, values in samples.items()
    }
    base_of = {
        "asgi y2w": "asgi bare",
        "asgi starlette session+auth": "asgi bare",
        "wsgi y2w": "wsgi bare",
        "wsgi flask + y2w": "wsgi flask bare",
        "wsgi flask + flask-login": "wsgi flask bare",
    }

    def overhead(label: str) -> float:
        return median[label] - median[base_of.get(label, label)]

    print(f"{'stack':32} {'µs/request':>11} {'overhead µs':>12}")
    for label, micros in median.items():
        print(f"{label:32} {micros:11.2f} {overhead(label):12.2f}")

    y2w_asgi = overhead("asgi y2w")
    starlette = overhead("asgi starlette session+auth")
    y2w_wsgi = overhead("wsgi flask + y2w")
    flask_login = overhead("wsgi flask + flask-login")
    print(
        f"\nASGI: Starlette session+auth overhead / y2w overhead = "
        f"{starlette / y2w_asgi:.1f}x"
    )
    print(f"WSGI: Flask-Login overhead / y2w overhead = {flask_login / y2w_wsgi:.1f}x")


if __name__ == "__main__":
    main()
