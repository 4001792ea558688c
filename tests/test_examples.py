"""The apps in ``examples/`` work as their docstrings say, against a fake gateway."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from y2w_middleware.testing import FakeGateway

EXAMPLES = Path(__file__).parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` afresh, so it reads the current environment."""
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, y2w_env: dict[str, str]) -> None:
    """The ``Y2W_*`` variables of the docstrings, pointing at a served fake."""
    for name, value in y2w_env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def client(request: pytest.FixtureRequest, env: None) -> Iterator[Any]:
    """A test client for the example named by the test's parameter."""
    module = load_example(request.param)
    if request.param == "flask_app":
        yield module.app.test_client()
        module.app.extensions["y2w"].middleware.client.close()
        return
    with TestClient(module.app) as client:
        yield client


@pytest.mark.parametrize(
    ("client", "greeting"),
    [
        pytest.param("starlette_app", "Hello, 张德强", id="starlette"),
        pytest.param("fastapi_app", '"hello":"张德强"', id="fastapi"),
        pytest.param("flask_app", "Hello, 张德强", id="flask"),
    ],
    indirect=["client"],
)
def test_login_journey(client: Any, greeting: str, fake_gateway: FakeGateway) -> None:
    """401 without a session; log in with an identity token; greeted by name."""
    assert client.get("/").status_code == 401

    token = fake_gateway.issue_identity_token("f3292423", "张德强")
    login = client.post("/y2w/login", json={"identityToken": token})
    assert login.status_code == 200

    home = client.get("/")
    assert home.status_code == 200
    assert greeting in home.text
