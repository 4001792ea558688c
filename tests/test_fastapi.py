"""FastAPI: ``CurrentUser``, ``require_user``, ``login_required`` on path operations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from starlette.testclient import TestClient

from y2w_middleware import (
    AsyncGatewayClient,
    Settings,
    User,
    Y2WMiddleware,
    login_required,
)
from y2w_middleware.fastapi import CurrentUser, require_user
from y2w_middleware.testing import FakeGateway

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}
UID, NAME = "f3292423", "张德强"


def make_app() -> FastAPI:
    """A FastAPI app using every way to ask for the user."""
    app = FastAPI()

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"uid": user.uid, "name": user.name, "is_user": isinstance(user, User)}

    @app.get("/me-sync")
    def me_sync(user: CurrentUser) -> dict[str, Any]:
        return {"uid": user.uid}

    @app.get("/guarded", dependencies=[Depends(require_user)])
    async def guarded() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/with-request")
    @login_required
    async def with_request(request: Request) -> dict[str, Any]:
        return {"user": request.user.display_name}

    @app.get("/items/{item_id}")
    @login_required
    async def item(item_id: int, q: str = "none") -> dict[str, Any]:
        return {"item": item_id, "q": q}

    @app.get("/sync-items/{item_id}")
    @login_required
    def sync_item(item_id: int) -> dict[str, Any]:
        return {"item": item_id}

    @app.get("/admin")
    @login_required(allow=lambda user: user.uid == "admin")
    async def admin() -> dict[str, Any]:
        return {"ok": True}

    return app


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def client(gw: FakeGateway) -> Iterator[TestClient]:
    """The app with ``app.add_middleware(Y2WMiddleware, ...)``."""
    settings = Settings(
        appid=gw.appid,
        secret=gw.secret,
        session_secret="fastapi-tests-session-secret-0123456789",
        gateway_url="http://gw.test",
        cookie_secure=False,
        login_url="/login",
    )
    app = make_app()
    app.add_middleware(
        Y2WMiddleware,
        settings=settings,
        client=AsyncGatewayClient(settings, transport=gw.transport()),
    )
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def login(client: TestClient, gw: FakeGateway, uid: str = UID) -> None:
    token = gw.issue_identity_token(uid, NAME)
    response = client.post("/y2w/login", json={"identityToken": token})
    assert response.status_code == 200, response.text


def _assert_login_required(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "LoginRequired"
    assert "detail" not in body
    assert set(body) == {"error", "message"}
    assert not any(name.startswith("x-y2w") for name in response.headers)


@pytest.mark.parametrize("path", ["/me", "/me-sync", "/guarded"])
def test_dependency_refuses_with_documented_401(client: TestClient, path: str) -> None:
    """Without a session ``CurrentUser`` / ``require_user`` give the documented 401."""
    _assert_login_required(client.get(path, headers=API))


def test_current_user_is_the_user(client: TestClient, gw: FakeGateway) -> None:
    """With a session ``CurrentUser`` is the ``User``."""
    login(client, gw)

    assert client.get("/me").json() == {"uid": UID, "name": NAME, "is_user": True}
    assert client.get("/me-sync").json() == {"uid": UID}
    assert client.get("/guarded").json() == {"ok": True}


def test_dependency_sends_browsers_to_login(client: TestClient) -> None:
    """A browser without a session is sent to the login URL by the dependency."""
    response = client.get("/me?x=1", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/me%3Fx%3D1"


@pytest.mark.parametrize(
    "path",
    ["/with-request", "/items/3", "/sync-items/3"],
    ids=["request", "no-request", "sync"],
)
def test_login_required_path_operation_refuses(client: TestClient, path: str) -> None:
    """``login_required`` on a path operation refuses with the documented 401."""
    _assert_login_required(client.get(path, headers=API))


def test_login_required_path_operation_runs(
    client: TestClient, gw: FakeGateway
) -> None:
    """With a session, decorated path operations get their parameters as usual."""
    login(client, gw)

    assert client.get("/with-request").json() == {"user": NAME}
    assert client.get("/items/3?q=x").json() == {"item": 3, "q": "x"}
    assert client.get("/sync-items/4").json() == {"item": 4}
    assert client.get("/items/not-a-number").status_code == 422


def test_login_required_keeps_the_openapi_parameters() -> None:
    """FastAPI still sees a decorated function's parameters, in its schema too."""
    schema = make_app().openapi()

    parameters = schema["paths"]["/items/{item_id}"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["item_id", "q"]
    with_request = schema["paths"]["/with-request"]["get"]
    assert "parameters" not in with_request


def test_login_required_allow_refuses_with_403(
    client: TestClient, gw: FakeGateway
) -> None:
    """``allow`` refusing a user gives 403 ``Forbidden`` on a path operation."""
    login(client, gw)
    refused = client.get("/admin")
    login(client, gw, uid="admin")
    allowed = client.get("/admin")

    assert refused.status_code == 403
    assert refused.json()["error"] == "Forbidden"
    assert allowed.json() == {"ok": True}
