"""Request integration: scope and environ keys, Starlette's own auth, lifespan,
websockets."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import anyio
import pytest

from y2w_middleware import AnonymousUser, Y2WMiddleware, Y2WWSGIMiddleware, get_user

from .conftest import NAME, AppClient, Leaks, People, RecordingGateway, build_client


def test_user_is_in_the_native_place(client: AppClient) -> None:
    """ASGI ``scope["user"]`` / WSGI ``environ["y2w.user"]`` hold the user."""
    anonymous = client.get("/").json()
    client.login()
    logged_in = client.get("/").json()

    assert anonymous["native"] == "anonymous"
    assert logged_in["native"] == NAME


def test_get_user_works_with_and_without_a_request(client: AppClient) -> None:
    """``get_user(request)`` and ``get_user()`` find the same user in the app."""
    anonymous = client.get("/").json()
    client.login()
    logged_in = client.get("/").json()

    assert (anonymous["user"], anonymous["context"]) == ("anonymous", "anonymous")
    assert (logged_in["user"], logged_in["context"]) == (NAME, NAME)


def test_get_user_outside_a_request_is_anonymous() -> None:
    """Outside any request ``get_user()`` is the anonymous user."""
    assert isinstance(get_user(), AnonymousUser)


def test_scope_auth_has_starlette_credentials(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """``scope["auth"]`` holds ``["authenticated"]`` once logged in, else nothing."""
    client = make_asgi_client()
    anonymous = client.get("/").json()
    client.login()
    logged_in = client.get("/").json()

    assert anonymous["auth"] == []
    assert logged_in["auth"] == ["authenticated"]


def test_starlette_requires_works(make_asgi_client: Callable[..., AppClient]) -> None:
    """Starlette's own ``@requires("authenticated")`` sees our user."""
    client = make_asgi_client()

    refused = client.get("/requires")
    client.login()
    allowed = client.get("/requires")

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert allowed.text == f"hello {NAME}"


def test_lifespan_passes_through(
    gw: RecordingGateway, people: People, leaks: Leaks
) -> None:
    """The app's lifespan runs under the middleware, and shutdown closes the client."""
    with contextlib.ExitStack() as stack:
        client = build_client("asgi", gw, people, leaks, stack)
        assert client.events == ["startup"]
        client.login()

    assert client.events == ["startup", "shutdown"]
    assert isinstance(client.middleware, Y2WMiddleware)
    with pytest.raises(RuntimeError, match="closed"):
        anyio.run(client.middleware.client.access_token)


def test_wsgi_close_closes_the_client(
    gw: RecordingGateway, people: People, leaks: Leaks
) -> None:
    """``Y2WWSGIMiddleware.close()`` closes its gateway client and store."""
    with contextlib.ExitStack() as stack:
        client = build_client("wsgi", gw, people, leaks, stack)
        client.login()
        middleware = client.middleware
        assert isinstance(middleware, Y2WWSGIMiddleware)
        middleware.close()

        with pytest.raises(RuntimeError, match="closed"):
            middleware.client.access_token()


def test_websocket_gets_the_user_from_the_cookie(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """A websocket connection sees the session's user, read from its cookie."""
    client = make_asgi_client()
    client.login()

    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == NAME


def test_websocket_without_session_is_anonymous(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """A websocket connection without a session sees the anonymous user."""
    client = make_asgi_client()

    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "anonymous"


def test_websocket_with_revoked_session_is_anonymous(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """A websocket presenting a logged-out cookie is anonymous."""
    client = make_asgi_client()
    client.login()
    old = client.session
    client.post("/y2w/logout")
    client.cookies.set(client.cookie_name, old or "")

    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "anonymous"
