"""The ``user_loader`` in both flavours, and misuse refused at construction."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from y2w_middleware import (
    Identity,
    Settings,
    Y2WMiddleware,
    Y2WWSGIMiddleware,
    login_required,
)
from y2w_middleware.errors import ConfigError
from y2w_middleware.testing import FakeGateway

from .conftest import (
    GATEWAY_URL,
    NAME,
    SESSION_SECRET,
    UID,
    AppClient,
    Kind,
    People,
    build_flask,
)

ADAPTERS: dict[str, Callable[..., Any]] = {
    "asgi": lambda *args, **kw: Y2WMiddleware(Starlette(), *args, **kw),
    "wsgi": lambda *args, **kw: Y2WWSGIMiddleware(build_flask().wsgi_app, *args, **kw),
}


@pytest.fixture
def adapter(kind: Kind) -> Callable[..., Any]:
    """Build this test's middleware around an empty app."""
    return ADAPTERS[kind]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``Y2W_*`` variable in the environment."""
    for name in list(os.environ):
        if name.startswith("Y2W_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(gw: FakeGateway) -> Settings:
    """Valid settings, as the conformance clients use them."""
    return Settings(
        appid=gw.appid,
        secret=gw.secret,
        session_secret=SESSION_SECRET,
        gateway_url=GATEWAY_URL,
        cookie_secure=False,
    )


def test_sync_user_loader_runs_at_login(client: AppClient) -> None:
    """A plain-function ``user_loader`` is asked about the person at login."""
    client.login()
    client.get("/private")

    assert client.people.loaded == [UID]


def test_async_user_loader_runs_at_login(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """The ASGI adapter awaits an async ``user_loader``."""
    client = make_asgi_client(loader="async")

    client.login()

    assert client.people.loaded == [UID]
    assert client.get("/private").json() == {"user": NAME}


def test_async_callable_object_loader_is_awaited(
    make_asgi_client: Callable[..., AppClient],
) -> None:
    """An object with an async ``__call__`` is awaited like an async function."""
    people = People()
    people.unknown.add("stranger")

    class Loader:
        async def __call__(self, identity: Identity) -> Any:
            return people.load(identity)

    client = make_asgi_client(loader=Loader())

    response = client.post(
        "/y2w/login", json={"identityToken": client.token("stranger", "Who")}
    )

    assert response.status_code == 403
    assert response.json()["error"] == "NotBound"
    assert people.loaded == ["stranger"]


def test_without_user_loader_everyone_logs_in(
    make_client: Callable[..., AppClient],
) -> None:
    """With no ``user_loader`` every person the gateway knows gets a session."""
    client = make_client(loader="none")

    client.login()

    assert client.get("/private").json() == {"user": NAME}


def test_wsgi_adapter_refuses_an_async_loader(settings: Settings) -> None:
    """``Y2WWSGIMiddleware`` refuses an async ``user_loader`` at construction."""
    with pytest.raises(TypeError, match="async"):
        Y2WWSGIMiddleware(build_flask().wsgi_app, settings, People().aload)


def test_wsgi_adapter_refuses_an_async_callable_object(settings: Settings) -> None:
    """An object whose ``__call__`` is async is refused by the WSGI adapter too."""

    class Loader:
        async def __call__(self, identity: Identity) -> None:
            return None

    with pytest.raises(TypeError, match="async"):
        Y2WWSGIMiddleware(build_flask().wsgi_app, settings, Loader())


def test_non_callable_loader_is_refused(
    adapter: Callable[..., Any], settings: Settings
) -> None:
    """A ``user_loader`` that is not callable is a ``TypeError``."""
    with pytest.raises(TypeError):
        adapter(settings, "not a function")


@pytest.mark.parametrize(
    "overrides",
    [
        {"session_secret": "short"},
        {"cookie_samesite": "sometimes"},
        {"timeout": -1},
        {"login_url": "javascript:alert(1)"},
        {"cookie_samesite": "none", "cookie_secure": False},
    ],
    ids=["short-key", "samesite", "timeout", "login-url", "samesite-none-insecure"],
)
def test_bad_settings_raise_config_error(
    adapter: Callable[..., Any], settings: Settings, overrides: dict[str, Any]
) -> None:
    """Bad settings stop construction with a ``ConfigError``."""
    with pytest.raises(ConfigError):
        adapter(settings, **overrides)


@pytest.mark.usefixtures("no_env")
def test_missing_settings_name_every_variable(adapter: Callable[..., Any]) -> None:
    """Without settings or variables, the ``ConfigError`` names each one missing."""
    with pytest.raises(ConfigError) as caught:
        adapter()

    for name in ("Y2W_APPID", "Y2W_SECRET", "Y2W_SESSION_SECRET"):
        assert name in str(caught.value)


@pytest.mark.usefixtures("no_env")
def test_settings_from_environment(
    adapter: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """Without explicit settings the middleware reads ``Y2W_*`` variables."""
    monkeypatch.setenv("Y2W_APPID", settings.appid)
    monkeypatch.setenv("Y2W_SECRET", settings.secret.reveal())
    monkeypatch.setenv("Y2W_SESSION_SECRET", settings.session_secret.reveal())
    monkeypatch.setenv("Y2W_LOGIN_URL", "/sign-in")

    middleware = adapter(cookie_secure=False)

    assert middleware.settings.login_url == "/sign-in"
    assert middleware.settings.cookie_secure is False


@pytest.mark.parametrize(
    "options", [{"allow": 5}, {"allow": "admin"}, {"redirect": "yes"}]
)
def test_login_required_misuse_is_a_type_error(options: dict[str, Any]) -> None:
    """``login_required`` with a non-callable ``allow`` or odd ``redirect`` raises."""
    with pytest.raises(TypeError):
        login_required(**options)
