"""A fleet: several processes sharing one Redis through ``Y2W_REDIS_URL``.

Each middleware built here stands for one process: its own caches, its
own gateway client, the same Redis and the same session secret.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from y2w_middleware import _redis_common

from .conftest import NAME, AppClient


@pytest.fixture
def fleet(
    make_client: Callable[..., AppClient],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[AppClient, AppClient]:
    """Two processes of one app, on one Redis.

    Their "not revoked" cache is switched off, so a logout reaches the other
    process at once instead of within a second (test_store.py checks that
    cache itself).
    """
    monkeypatch.setattr(_redis_common, "REVOCATION_CACHE_SECONDS", 0)
    return make_client(redis_url=redis_url), make_client(redis_url=redis_url)


def test_a_session_from_one_process_works_in_another(
    fleet: tuple[AppClient, AppClient],
) -> None:
    """A cookie issued by one process is honoured by another."""
    first, second = fleet
    first.login()
    cookie = f"{first.cookie_name}={first.session}"

    response = second.with_cookie("GET", "/private", cookie)

    assert response.status_code == 200
    assert response.json() == {"user": NAME}


def test_logout_in_one_process_reaches_the_others(
    fleet: tuple[AppClient, AppClient],
) -> None:
    """A session revoked by one process is refused by another."""
    first, second = fleet
    first.login()
    cookie = f"{first.cookie_name}={first.session}"
    assert second.with_cookie("GET", "/private", cookie).status_code == 200

    assert first.post("/y2w/logout").status_code == 204
    response = second.with_cookie("GET", "/private", cookie)

    assert response.status_code == 401
    assert second.set_cookie(response).clears


def test_the_fleet_shares_one_access_token(
    fleet: tuple[AppClient, AppClient],
) -> None:
    """The second process logs people in with the token the first one fetched."""
    first, second = fleet
    first.login()
    tokens_before = first.gw.calls["token"]

    second.login("e1002", "Amira Haddad")

    assert first.gw.calls["token"] == tokens_before


def test_a_redis_outage_is_a_503_not_a_500(
    make_client: Callable[..., AppClient], redis_url: str
) -> None:
    """With Redis gone, a session request fails closed with the documented 503."""
    healthy = make_client(redis_url=redis_url)
    healthy.login()
    cookie = f"{healthy.cookie_name}={healthy.session}"
    # Nothing listens on port 9 (discard) here: connecting fails at once.
    broken = make_client(redis_url="redis://127.0.0.1:9/0", timeout=0.5)

    response = broken.with_cookie("GET", "/private", cookie)

    assert response.status_code == 503
    assert response.json()["error"] == "GatewayUnavailable"
    assert "retry-after" in response.headers


def test_a_redis_outage_makes_a_websocket_anonymous(
    make_asgi_client: Callable[..., AppClient], redis_url: str
) -> None:
    """A websocket whose session cannot be checked is anonymous: it fails closed."""
    healthy = make_asgi_client(redis_url=redis_url)
    healthy.login()
    broken = make_asgi_client(redis_url="redis://127.0.0.1:9/0", timeout=0.5)
    broken.cookies.set(broken.cookie_name, healthy.session or "")

    with broken.websocket_connect("/ws") as websocket:
        assert websocket.receive_text() == "anonymous"
