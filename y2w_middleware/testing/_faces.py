"""The fake's faces: ASGI, WSGI and httpx2 transport over one ``handle``.

Each face only translates a request into ``handle(method, path, query,
headers)`` and its ``Reply`` back, and waits out the reply's delay the way
its world waits: ``time.sleep`` for WSGI and sync clients, ``anyio.sleep``
for ASGI and async clients.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio
import httpx2

from ._contract import Reply

__all__ = [
    "RAW_PATH_KEY",
    "FakeTransport",
    "Handler",
    "Receive",
    "Scope",
    "Send",
    "asgi",
    "wsgi",
]

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

#: The core every face calls: method, raw path, raw query, headers.
Handler = Callable[[str, str, str, Mapping[str, str]], Reply]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: WSGI environ key where the fake's own server leaves the raw request path,
#: which ``PATH_INFO`` has already percent-decoded.
RAW_PATH_KEY = "y2w.raw_path"


# -- httpx2 transport ---------------------------------------------------------


class FakeTransport(httpx2.MockTransport):
    """A MockTransport that waits out delays the sync or the async way.

    MockTransport alone would run one sync handler for both kinds of
    client, and a ``time.sleep`` there would stall an async client's loop.
    """

    def __init__(self, handle: Handler) -> None:
        super().__init__(self._respond)
        self._handle = handle

    def _respond(self, request: httpx2.Request) -> httpx2.Response:
        reply = self._reply(request)
        wait, gives_up = _client_wait(reply, request)
        time.sleep(wait)
        return _response(reply, request, gives_up)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()

        reply = self._reply(request)
        wait, gives_up = _client_wait(reply, request)
        await anyio.sleep(wait)
        return _response(reply, request, gives_up)

    def _reply(self, request: httpx2.Request) -> Reply:
        raw_path = request.url.raw_path.decode("latin-1").partition("?")[0]
        query = request.url.query.decode("latin-1")
        return self._handle(request.method, raw_path, query, request.headers)


def _client_wait(reply: Reply, request: httpx2.Request) -> tuple[float, bool]:
    """How long the client waits, and whether its read timeout runs out first.

    No socket stands behind a MockTransport, so nothing would enforce the
    client's timeout; honouring it here lets timeout handling be tested.
    """
    timeouts = request.extensions.get("timeout", {})
    limit = timeouts.get("read")
    if limit is not None and reply.delay > limit:
        return limit, True
    return reply.delay, False


def _response(reply: Reply, request: httpx2.Request, gives_up: bool) -> httpx2.Response:
    if gives_up:
        raise httpx2.ReadTimeout("the fake gateway answered too late", request=request)
    return httpx2.Response(
        reply.status, headers=list(reply.headers), content=reply.body
    )


# -- ASGI ---------------------------------------------------------------------


async def asgi(handle: Handler, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI connection: HTTP is answered, lifespan acknowledged."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        # The gateway speaks no websocket: close before accepting (a 403).
        await send({"type": "websocket.close", "code": 1008})
        return

    # ``raw_path`` keeps ``%2F`` inside a token; ``path`` has lost it.
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is not None:
        path = raw_path.decode("latin-1").partition("?")[0]
    else:
        path = quote(scope["path"], safe="/")
    query = scope.get("query_string", b"").decode("latin-1")
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope.get("headers", [])
    }

    reply = handle(scope["method"], path, query, headers)
    await anyio.sleep(reply.delay)

    await send(
        {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in _with_length(reply)
            ],
        }
    )
    await send({"type": "http.response.body", "body": reply.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: acknowledge both events."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# -- WSGI ---------------------------------------------------------------------


def wsgi(
    handle: Handler, environ: WSGIEnvironment, start_response: StartResponse
) -> list[bytes]:
    """Serve one WSGI request."""
    path = environ.get(RAW_PATH_KEY)
    if path is None:
        # PATH_INFO holds the decoded bytes as latin-1; encoding them again
        # is the best a foreign server allows (``%2F`` is lost already).
        path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/")
    headers = {
        key[5:].replace("_", "-"): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }

    reply = handle(
        environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), headers
    )
    time.sleep(reply.delay)

    status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
    start_response(status, _with_length(reply))
    return [reply.body]


def _with_length(reply: Reply) -> list[tuple[str, str]]:
    return [*reply.headers, ("Content-Length", str(len(reply.body)))]
