"""Details of the WSGI adapter that have no ASGI twin (environ handling)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from y2w_middleware import GatewayClient, Settings, Y2WWSGIMiddleware
from y2w_middleware.testing import FakeGateway


def echo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """An app that answers with the raw request line it was given."""
    start_response("200 OK", [("content-type", "text/plain")])
    return [environ.get("REQUEST_URI", "").encode("latin-1")]


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def middleware(gw: FakeGateway) -> Iterator[Y2WWSGIMiddleware]:
    settings = Settings(
        appid=gw.appid,
        secret=gw.secret,
        session_secret="wsgi-tests-session-secret-0123",
        gateway_url="http://gw.test",
    )
    client = GatewayClient(settings, transport=gw.transport())
    wrapped = Y2WWSGIMiddleware(echo, settings, client=client)
    yield wrapped
    wrapped.close()


def call(app: Any, **environ: Any) -> tuple[str, dict[str, str], bytes]:
    """Run one request through *app*; answer status, headers and body."""
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_raw_request_line_loses_the_token_too(
    middleware: Y2WWSGIMiddleware, gw: FakeGateway
) -> None:
    """Servers that keep the raw request line (REQUEST_URI) see it without the token."""
    token = gw.issue_identity_token("f3292423", "张德强")
    query = f"a=1&identityToken={token}"

    status, _, body = call(
        middleware,
        PATH_INFO="/page",
        QUERY_STRING=query,
        REQUEST_URI=f"/page?{query}",
        HTTP_ACCEPT="application/json",
    )

    assert status.startswith("200")
    assert body == b"/page?a=1"


def test_unreadable_content_length_is_refused(middleware: Y2WWSGIMiddleware) -> None:
    """A login body whose Content-Length is not a number gets 413, not a 500."""
    status, headers, _ = call(
        middleware,
        REQUEST_METHOD="POST",
        PATH_INFO="/y2w/login",
        CONTENT_LENGTH="many",
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(b"{}")},
    )

    assert status.startswith("413")
    assert headers["content-type"] == "application/json"


def test_head_answer_has_no_body(middleware: Y2WWSGIMiddleware) -> None:
    """A HEAD request to an endpoint gets the headers and an empty body."""
    status, headers, body = call(middleware, REQUEST_METHOD="HEAD", PATH_INFO="/y2w/me")

    assert status.startswith("401")
    assert int(headers["content-length"]) > 0
    assert body == b""
