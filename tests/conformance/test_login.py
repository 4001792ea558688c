"""Login from all three sources: ``POST /y2w/login``, the query, the header."""

from __future__ import annotations

from datetime import datetime

import pytest

from .conftest import NAME, UID, AppClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}


def _assert_user(body: dict[str, str]) -> None:
    assert set(body) == {"uid", "name", "session_expires"}
    assert (body["uid"], body["name"]) == (UID, NAME)
    assert datetime.fromisoformat(body["session_expires"]).tzinfo is not None


def test_login_with_json_answers_the_user(client: AppClient) -> None:
    """``POST /y2w/login`` with a JSON body answers 200 and the JSON user."""
    response = client.post("/y2w/login", json={"identityToken": client.token()})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    _assert_user(response.json())
    assert response.headers["referrer-policy"] == "no-referrer"
    assert client.session is not None


def test_login_with_form_answers_the_user(client: AppClient) -> None:
    """``POST /y2w/login`` with a form body answers 200 and the JSON user."""
    response = client.post("/y2w/login", data={"identityToken": client.token()})

    assert response.status_code == 200
    _assert_user(response.json())
    assert client.get("/private").status_code == 200


def test_login_costs_one_round_trip(client: AppClient) -> None:
    """With the access token cached, a login makes one gateway call."""
    client.login()
    before = client.gw.calls

    client.login("u2", "Li")

    after = client.gw.calls
    assert after["token"] == before["token"]
    assert after["account"] == before["account"] + 1


@pytest.mark.parametrize(
    ("params", "body", "location"),
    [
        ({"next": "/private?x=1"}, {}, "/private?x=1"),
        ({}, {"next": "/admin"}, "/admin"),
        ({"next": "/private"}, {"next": "/admin"}, "/private"),
        ({}, {}, "/"),
    ],
    ids=["query-next", "body-next", "query-wins", "no-next"],
)
def test_browser_login_redirects_to_next(
    client: AppClient,
    params: dict[str, str],
    body: dict[str, str],
    location: str,
) -> None:
    """A browser's login answers 303 to the ``next`` of the query or the body."""
    form = {"identityToken": client.token(), **body}

    response = client.post("/y2w/login", params=params, data=form, headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == location
    assert client.set_cookie(response) is not None
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}],
    ids=["origin", "sec-fetch-site"],
)
def test_cross_site_login_is_refused(
    client: AppClient, headers: dict[str, str]
) -> None:
    """A login posted from another site is refused with 403 ``CrossSiteRequest``."""
    response = client.post(
        "/y2w/login", json={"identityToken": client.token()}, headers=headers
    )

    assert response.status_code == 403
    assert response.json()["error"] == "CrossSiteRequest"
    assert client.set_cookie(response) is None
    assert client.gw.total_calls == 0


@pytest.mark.parametrize(
    "headers",
    [{"origin": "http://testserver"}, {"sec-fetch-site": "same-origin"}],
    ids=["origin", "sec-fetch-site"],
)
def test_same_origin_login_passes(client: AppClient, headers: dict[str, str]) -> None:
    """A login posted from the app's own pages is accepted."""
    response = client.post(
        "/y2w/login", json={"identityToken": client.token()}, headers=headers
    )

    assert response.status_code == 200
    _assert_user(response.json())


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/private?identityToken={}", "/private"),
        ("/private?a=1&identityToken={}&b=x%20y", "/private?a=1&b=x%20y"),
        ("/?identityToken={}&next=%2Fadmin", "/?next=%2Fadmin"),
    ],
    ids=["only-param", "between-params", "other-params-kept"],
)
def test_query_token_redirects_a_browser_to_the_clean_url(
    client: AppClient, url: str, location: str
) -> None:
    """A browser GET with ``?identityToken=`` is sent to the URL without it."""
    response = client.get(url.format(client.token()), headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == location
    assert response.headers["referrer-policy"] == "no-referrer"
    assert client.set_cookie(response) is not None
    assert client.get("/private").json() == {"user": NAME}


def test_query_token_reaches_an_api_app_without_the_token(client: AppClient) -> None:
    """An API GET with ``?identityToken=`` reaches the app without it, logged in."""
    token = client.token()

    response = client.get(f"/?a=1&identityToken={token}&b=2", headers=API)

    assert response.status_code == 200
    page = response.json()
    assert page["user"] == NAME
    assert page["query"] == "a=1&b=2"
    assert token not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert client.set_cookie(response) is not None


def test_percent_encoded_parameter_name_still_logs_in(client: AppClient) -> None:
    """``identity%54oken=`` is the same parameter: it logs in, never reaches the app."""
    token = client.token()

    response = client.get(f"/?identity%54oken={token}&b=2", headers=API)

    assert response.status_code == 200
    page = response.json()
    assert page["user"] == NAME
    assert token not in page["query"]
    assert client.set_cookie(response) is not None


def test_header_token_reaches_the_app_with_the_user(client: AppClient) -> None:
    """An ``X-Identity-Token`` request reaches the app logged in, with the cookie."""
    token = client.token()

    response = client.get("/private", headers={"X-Identity-Token": token, **API})

    assert response.status_code == 200
    assert response.json() == {"user": NAME}
    assert client.set_cookie(response) is not None
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert client.get("/").json()["user"] == NAME
