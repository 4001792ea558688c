"""The middleware's own endpoints: logout, me and access-token."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from y2w_middleware import _token

from .conftest import NAME, UID, AppClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}


def test_logout_answers_204_and_clears_the_cookie(client: AppClient) -> None:
    """``POST /y2w/logout`` answers 204 and clears the session cookie."""
    client.login()

    response = client.post("/y2w/logout")

    assert response.status_code == 204
    assert client.set_cookie(response).clears
    assert client.session is None
    assert client.get("/private").status_code == 401


@pytest.mark.parametrize(
    ("url", "headers", "location"),
    [
        ("/y2w/logout", HTML, "/"),
        ("/y2w/logout?next=/private", API, "/private"),
        ("/y2w/logout?next=/admin", HTML, "/admin"),
        ("/y2w/logout?next=//evil.example", HTML, "/"),
    ],
    ids=["browser", "api-with-next", "browser-with-next", "unsafe-next"],
)
def test_logout_redirects_to_a_safe_next(
    client: AppClient, url: str, headers: dict[str, str], location: str
) -> None:
    """A browser's logout, or one with ``?next=``, answers 303 to a safe next."""
    client.login()

    response = client.post(url, headers=headers)

    assert response.status_code == 303
    assert response.headers["location"] == location
    assert client.set_cookie(response).clears


def test_logged_out_cookie_is_revoked(client: AppClient) -> None:
    """The old cookie value, replayed after logout, is anonymous and cleared."""
    client.login()
    old = f"{client.cookie_name}={client.session}"
    client.post("/y2w/logout")

    private = client.with_cookie("GET", "/private", old, headers=API)
    page = client.with_cookie("GET", "/", old)
    me = client.with_cookie("GET", "/y2w/me", old)

    assert private.status_code == 401
    assert private.json()["error"] == "LoginRequired"
    assert page.json()["user"] == "anonymous"
    assert me.status_code == 401
    for response in (private, page, me):
        assert client.set_cookie(response).clears


def test_logout_leaves_other_sessions_alone(client: AppClient) -> None:
    """Logging out one session does not end another session of the same person."""
    client.login()
    first = f"{client.cookie_name}={client.session}"
    client.http.cookies.clear()
    client.login()

    client.post("/y2w/logout")

    assert client.with_cookie("GET", "/private", first).status_code == 200


def test_logout_without_session_answers_204(client: AppClient) -> None:
    """Logging out without a session is harmless: 204."""
    response = client.post("/y2w/logout")

    assert response.status_code == 204


def test_cross_site_logout_is_refused(client: AppClient) -> None:
    """A logout posted from another site is refused and the session lives on."""
    client.login()

    response = client.post("/y2w/logout", headers={"sec-fetch-site": "cross-site"})

    assert response.status_code == 403
    assert response.json()["error"] == "CrossSiteRequest"
    assert client.get("/private").status_code == 200


def test_me_answers_the_json_user(client: AppClient) -> None:
    """``GET /y2w/me`` answers 200 and the JSON user of the session."""
    client.login()

    response = client.get("/y2w/me")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"uid", "name", "session_expires"}
    assert (body["uid"], body["name"]) == (UID, NAME)
    assert datetime.fromisoformat(body["session_expires"]).tzinfo is not None
    assert response.headers["cache-control"] == "no-store"


def test_me_without_session_answers_401(client: AppClient) -> None:
    """``GET /y2w/me`` without a session answers 401 ``LoginRequired``."""
    response = client.get("/y2w/me")

    assert response.status_code == 401
    assert response.json()["error"] == "LoginRequired"


def test_access_token_is_served_when_exposed(
    make_client: Callable[..., AppClient],
) -> None:
    """With ``expose_access_token`` the front-end gets ``{accessToken, expires}``."""
    client = make_client(expose_access_token=True)

    response = client.get("/y2w/access-token")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "expires"}
    assert body["accessToken"] in client.gw.access_tokens
    assert client.gw.token_ttl - 5 <= body["expires"] <= client.gw.token_ttl
    assert response.headers["cache-control"] == "no-store"


class _Later:
    """The ``time`` module, with the wall clock *seconds* ahead."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def time(self) -> float:
        return time.time() + self.seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def test_access_token_expires_is_the_remaining_lifetime(
    make_client: Callable[..., AppClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``expires`` counts down: it is the cached token's remaining life."""
    client = make_client(expose_access_token=True)
    first = client.get("/y2w/access-token").json()

    monkeypatch.setattr(_token, "time", _Later(1000))
    later = client.get("/y2w/access-token").json()

    assert later["accessToken"] == first["accessToken"]
    assert first["expires"] - 1005 <= later["expires"] <= first["expires"] - 1000
    assert client.gw.calls["token"] == 1


def test_access_token_is_not_served_unless_exposed(client: AppClient) -> None:
    """Without ``expose_access_token`` the path falls through to the app (404)."""
    response = client.get("/y2w/access-token")

    assert response.status_code == 404
    assert "accessToken" not in response.text
    assert client.gw.total_calls == 0


def test_access_token_refuses_cross_site_requests(
    make_client: Callable[..., AppClient],
) -> None:
    """Another site's page cannot fetch the access token."""
    client = make_client(expose_access_token=True)

    response = client.get("/y2w/access-token", headers={"sec-fetch-site": "cross-site"})

    assert response.status_code == 403
    assert response.json()["error"] == "CrossSiteRequest"
    assert client.gw.total_calls == 0


def test_access_token_failure_is_a_documented_503(
    make_client: Callable[..., AppClient],
) -> None:
    """When the gateway refuses, ``access-token`` answers 503 as documented."""
    client = make_client(expose_access_token=True)
    client.gw.disable_secret()

    response = client.get("/y2w/access-token")

    assert response.status_code == 503
    assert response.json()["error"] == "GatewayMisconfigured"
    assert "retry-after" not in response.headers


def test_other_paths_under_the_prefix_reach_the_app(client: AppClient) -> None:
    """Only the documented endpoints are answered; other prefix paths fall through."""
    response = client.get("/y2w/something-else")

    assert response.status_code == 404
    assert client.gw.total_calls == 0
