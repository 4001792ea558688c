"""Flask: ``Y2W(app)``, ``init_app``, ``Y2W_*`` config keys, ``current_user``."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from wsgiref.validate import validator

import httpx2
import pytest
from flask import Flask

from y2w_middleware import (
    GatewayClient,
    Identity,
    Settings,
    User,
    Y2WWSGIMiddleware,
    login_required,
)
from y2w_middleware.errors import ConfigError
from y2w_middleware.flask import Y2W, current_user
from y2w_middleware.testing import FakeGateway

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}
UID, NAME = "f3292423", "张德强"
SESSION_SECRET = "flask-tests-session-secret-0123456789"


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def settings(gw: FakeGateway) -> Settings:
    return Settings(
        appid=gw.appid,
        secret=gw.secret,
        session_secret=SESSION_SECRET,
        gateway_url="http://gw.test",
        cookie_secure=False,
        login_url="/login",
    )


@pytest.fixture
def gateway(gw: FakeGateway, settings: Settings) -> Iterator[GatewayClient]:
    with GatewayClient(settings, transport=gw.transport()) as client:
        yield client


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``Y2W_*`` variable in the environment."""
    for name in list(os.environ):
        if name.startswith("Y2W_"):
            monkeypatch.delenv(name)


def make_app() -> Flask:
    """A Flask app with a public page and protected views."""
    app = Flask(__name__)

    @app.get("/")
    def home() -> dict[str, Any]:
        return {
            "authenticated": current_user.is_authenticated,
            "name": current_user.display_name,
        }

    @app.get("/private")
    @login_required
    def private() -> dict[str, Any]:
        return {"user": current_user.display_name}

    @app.get("/items/<int:item_id>")
    @login_required
    def item(item_id: int) -> dict[str, Any]:
        return {"item": item_id, "user": current_user.display_name}

    @app.get("/admin")
    @login_required(allow=lambda user: user.uid == "admin")
    def admin() -> dict[str, Any]:
        return {"user": current_user.display_name}

    @app.get("/api")
    @login_required(redirect=False)
    def api() -> dict[str, Any]:
        return {"user": current_user.display_name}

    return app


def client_for(app: Flask) -> httpx2.Client:
    """An httpx2 client speaking to *app*, checked by wsgiref's validator."""
    transport = httpx2.WSGITransport(app=validator(app))
    return httpx2.Client(
        transport=transport, base_url="http://testserver", follow_redirects=False
    )


def login(client: httpx2.Client, gw: FakeGateway, uid: str = UID) -> None:
    token = gw.issue_identity_token(uid, NAME)
    response = client.post("/y2w/login", json={"identityToken": token})
    assert response.status_code == 200, response.text


@pytest.fixture
def app(settings: Settings, gateway: GatewayClient) -> Flask:
    """The app with ``Y2W(app, settings, client=...)``."""
    app = make_app()
    Y2W(app, settings, client=gateway)
    return app


@pytest.fixture
def client(app: Flask) -> Iterator[httpx2.Client]:
    with client_for(app) as client:
        yield client


def test_extension_wraps_the_wsgi_app(app: Flask) -> None:
    """``Y2W(app)`` puts the middleware around ``app.wsgi_app`` and registers."""
    extension = app.extensions["y2w"]

    assert isinstance(extension, Y2W)
    assert isinstance(app.wsgi_app, Y2WWSGIMiddleware)
    assert app.wsgi_app is extension.middleware


def test_current_user_follows_the_session(
    client: httpx2.Client, gw: FakeGateway
) -> None:
    """``current_user`` is anonymous without a session and the User with one."""
    anonymous = client.get("/").json()
    login(client, gw)
    logged_in = client.get("/").json()

    assert anonymous == {"authenticated": False, "name": ""}
    assert logged_in == {"authenticated": True, "name": NAME}


def test_current_user_is_the_user_object(app: Flask) -> None:
    """Inside a request ``current_user`` is the ``User`` the middleware attached."""
    now = datetime.now(UTC)
    user = User(UID, NAME, now, now)
    with app.test_request_context("/", environ_base={"y2w.user": user}):
        assert current_user.uid == UID
        assert current_user == user


def test_login_required_on_flask_views(client: httpx2.Client, gw: FakeGateway) -> None:
    """A protected view answers 401 without a session and runs with one."""
    refused = client.get("/private", headers=API)
    login(client, gw)
    allowed = client.get("/private")

    assert refused.status_code == 401
    assert refused.json()["error"] == "LoginRequired"
    assert allowed.json() == {"user": NAME}


def test_login_required_sends_browsers_to_login(client: httpx2.Client) -> None:
    """A browser without a session is sent to the login URL with ``next``."""
    response = client.get("/private?x=1", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/private%3Fx%3D1"


def test_no_redirect_view_answers_401_to_browsers(client: httpx2.Client) -> None:
    """``login_required(redirect=False)`` answers browsers 401 too."""
    response = client.get("/api", headers=HTML)

    assert response.status_code == 401
    assert response.json()["error"] == "LoginRequired"


def test_allow_refuses_with_403(client: httpx2.Client, gw: FakeGateway) -> None:
    """``allow`` refusing a logged-in user answers 403 ``Forbidden``."""
    login(client, gw)
    refused = client.get("/admin")
    login(client, gw, uid="admin")
    allowed = client.get("/admin")

    assert refused.status_code == 403
    assert refused.json()["error"] == "Forbidden"
    assert allowed.status_code == 200


def test_view_arguments_pass_through(client: httpx2.Client, gw: FakeGateway) -> None:
    """URL arguments still reach a protected view, whose signature is kept."""
    login(client, gw)

    response = client.get("/items/7")

    assert response.json() == {"item": 7, "user": NAME}
    view = make_app().view_functions["item"]
    assert list(inspect.signature(view).parameters) == ["item_id"]


def test_options_is_exempt(client: httpx2.Client) -> None:
    """``OPTIONS`` on a protected view passes without a session."""
    response = client.options("/private")

    assert response.status_code == 200


def test_init_app_later(
    settings: Settings, gateway: GatewayClient, gw: FakeGateway
) -> None:
    """``Y2W()`` then ``init_app(app)`` works like ``Y2W(app)``."""
    extension = Y2W(settings=settings, client=gateway)
    app = make_app()
    assert extension.middleware is None

    extension.init_app(app)

    assert app.extensions["y2w"] is extension
    with client_for(app) as client:
        login(client, gw)
        assert client.get("/private").json() == {"user": NAME}


def test_user_loader_is_passed_on(
    settings: Settings, gateway: GatewayClient, gw: FakeGateway
) -> None:
    """The extension's ``user_loader`` runs at login; None refuses the person."""
    seen: list[str] = []

    def loader(identity: Identity) -> object | None:
        seen.append(identity.uid)
        return None

    app = make_app()
    Y2W(app, settings, user_loader=loader, client=gateway)
    with client_for(app) as client:
        token = gw.issue_identity_token(UID, NAME)
        response = client.post("/y2w/login", json={"identityToken": token})

    assert response.status_code == 403
    assert response.json()["error"] == "NotBound"
    assert seen == [UID]


@pytest.mark.usefixtures("no_env")
def test_settings_come_from_app_config(gw: FakeGateway) -> None:
    """``Y2W_*`` keys of ``app.config`` are read, typed values included."""
    app = make_app()
    app.config.update(
        Y2W_APPID=gw.appid,
        Y2W_SECRET=gw.secret,
        Y2W_SESSION_SECRET=SESSION_SECRET,
        Y2W_COOKIE_SECURE=False,
        Y2W_SESSION_MAX_AGE=600,
        Y2W_LOGIN_URL="/sign-in",
        Y2W_SESSION_SECRET_FALLBACKS=["an-older-session-secret-0001"],
    )

    extension = Y2W(app)

    assert extension.middleware is not None
    settings = extension.middleware.settings
    assert settings.appid == gw.appid
    assert settings.cookie_secure is False
    assert settings.session_max_age == 600
    assert settings.login_url == "/sign-in"
    assert len(settings.session_secret_fallbacks) == 1


@pytest.mark.usefixtures("no_env")
def test_config_settings_with_a_given_client(gw: FakeGateway) -> None:
    """``Y2W(app, client=...)`` reads app.config and uses the client handed over."""
    app = make_app()
    app.config.update(
        Y2W_APPID=gw.appid,
        Y2W_SECRET=gw.secret,
        Y2W_SESSION_SECRET=SESSION_SECRET,
        Y2W_COOKIE_SECURE=False,
    )
    settings = Settings(appid=gw.appid, secret=gw.secret, session_secret=SESSION_SECRET)
    gateway = GatewayClient(settings, transport=gw.transport())

    extension = Y2W(app, client=gateway)

    assert extension.middleware is not None
    assert extension.middleware.client is gateway
    token = gw.issue_identity_token(UID, NAME)
    with httpx2.Client(
        transport=httpx2.WSGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = client.get("/", headers={"X-Identity-Token": token, **API})
    assert response.json()["name"] == NAME


@pytest.mark.usefixtures("no_env")
def test_config_wins_over_env_and_keywords_over_both(
    gw: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keywords win over ``app.config``, which wins over the environment."""
    monkeypatch.setenv("Y2W_APPID", gw.appid)
    monkeypatch.setenv("Y2W_SECRET", gw.secret)
    monkeypatch.setenv("Y2W_SESSION_SECRET", SESSION_SECRET)
    monkeypatch.setenv("Y2W_LOGIN_URL", "/from-env")
    monkeypatch.setenv("Y2W_BIND_URL", "/bind-from-env")
    monkeypatch.setenv("Y2W_PREFIX", "/from-env")
    app = make_app()
    app.config.update(Y2W_LOGIN_URL="/from-config", Y2W_PREFIX="/from-config")

    extension = Y2W(app, prefix="/from-keyword", cookie_secure=False)

    assert extension.middleware is not None
    settings = extension.middleware.settings
    assert settings.bind_url == "/bind-from-env"
    assert settings.login_url == "/from-config"
    assert settings.prefix == "/from-keyword"


@pytest.mark.usefixtures("no_env")
def test_bad_config_raises_at_init(gw: FakeGateway) -> None:
    """A bad or missing ``Y2W_*`` key stops ``Y2W(app)`` with a ``ConfigError``."""
    app = make_app()
    app.config.update(Y2W_APPID=gw.appid, Y2W_SESSION_MAX_AGE="soon")

    with pytest.raises(ConfigError) as caught:
        Y2W(app)

    message = str(caught.value)
    assert "Y2W_SECRET" in message
    assert "Y2W_SESSION_SECRET" in message
    assert "Y2W_SESSION_MAX_AGE" in message


@pytest.mark.usefixtures("no_env")
def test_config_journey_over_a_served_gateway(gw: FakeGateway) -> None:
    """Configured only through ``app.config``, the app logs people in."""
    with gw.serve() as url:
        app = make_app()
        app.config.update(
            Y2W_APPID=gw.appid,
            Y2W_SECRET=gw.secret,
            Y2W_SESSION_SECRET=SESSION_SECRET,
            Y2W_GATEWAY_URL=url,
            Y2W_COOKIE_SECURE=False,
        )
        extension = Y2W(app)
        try:
            with client_for(app) as client:
                login(client, gw)
                assert client.get("/private").json() == {"user": NAME}
        finally:
            assert extension.middleware is not None
            extension.middleware.client.close()
