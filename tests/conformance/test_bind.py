"""The bind flow: unknown person, pending cookie, bind page, ``bind/complete``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2

from .conftest import AppClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}
STRANGER, STRANGER_NAME = "s-0042", "王小明"


def _send_to_bind(client: AppClient) -> tuple[str, httpx2.Response]:
    """An unknown person's browser login: answers the token and the 303."""
    client.people.unknown.add(STRANGER)
    token = client.token(STRANGER, STRANGER_NAME)
    response = client.get(f"/private?identityToken={token}", headers=HTML)
    assert response.status_code == 303
    return token, response


def test_unknown_person_gets_a_pending_cookie(client: AppClient) -> None:
    """The pending cookie is HttpOnly, short-lived and holds no token."""
    token, response = _send_to_bind(client)

    pending = client.set_cookie(response, client.pending_name)
    assert "httponly" in pending.flags
    assert pending.attributes["samesite"] == "Lax"
    assert 0 < int(pending.attributes["max-age"]) <= client.settings.pending_max_age
    assert token not in pending.value
    assert response.headers["referrer-policy"] == "no-referrer"


def test_bind_page_reads_the_pending_identity(client: AppClient) -> None:
    """The bind page reads uid and name with ``get_pending_identity``; id is empty."""
    _, response = _send_to_bind(client)

    page = client.get(response.headers["location"])

    assert page.status_code == 200
    assert page.json() == {
        "pending": {"id": "", "uid": STRANGER, "name": STRANGER_NAME}
    }


def test_bind_page_without_pending_cookie_sees_none(client: AppClient) -> None:
    """Without a pending cookie ``get_pending_identity`` gives None."""
    assert client.get("/bind").json() == {"pending": None}


def test_browser_login_of_unknown_person_goes_to_bind(client: AppClient) -> None:
    """``POST /y2w/login`` from a browser sends an unknown person to bind, with next."""
    client.people.unknown.add(STRANGER)
    form = {"identityToken": client.token(STRANGER, STRANGER_NAME), "next": "/admin"}

    response = client.post("/y2w/login", data=form, headers=HTML)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/bind"
    assert parse_qs(location.query) == {"next": ["/admin"]}
    assert client.set_cookie(response, client.pending_name) is not None


def test_bind_complete_issues_the_session(client: AppClient) -> None:
    """Once the app knows the person, ``bind/complete`` issues the session."""
    _send_to_bind(client)
    client.people.unknown.discard(STRANGER)
    calls = client.gw.calls

    response = client.post("/y2w/bind/complete?next=/private")

    assert response.status_code == 303
    assert response.headers["location"] == "/private"
    assert client.set_cookie(response) is not None
    assert client.set_cookie(response, client.pending_name).clears
    assert client.people.loaded.count(STRANGER) == 2
    assert client.gw.calls == calls
    assert client.get("/private").json() == {"user": STRANGER_NAME}
    assert client.get("/bind").json() == {"pending": None}


def test_bind_complete_for_a_still_unknown_person_gets_403(client: AppClient) -> None:
    """If the app still does not know the person, ``bind/complete`` is 403."""
    _send_to_bind(client)

    response = client.post("/y2w/bind/complete?next=/private", headers=API)

    assert response.status_code == 403
    assert response.json()["error"] == "NotBound"
    assert client.set_cookie(response) is None
    assert client.get("/private").status_code == 401


def test_bind_complete_without_pending_cookie_gets_403(client: AppClient) -> None:
    """Without a pending cookie ``bind/complete`` is 403 ``NotBound``."""
    response = client.post("/y2w/bind/complete?next=/private")

    assert response.status_code == 403
    assert response.json()["error"] == "NotBound"
    assert client.people.loaded == []


def test_bind_complete_with_forged_pending_cookie_gets_403(client: AppClient) -> None:
    """A pending cookie we did not sign is no pending identity at all."""
    forged = f"{client.pending_name}=WzEsInMtMDA0MiJd.forged"

    response = client.with_cookie("POST", "/y2w/bind/complete", forged)

    assert response.status_code == 403
    assert response.json()["error"] == "NotBound"


def test_pending_cookie_is_not_a_session(client: AppClient) -> None:
    """A pending cookie's value replayed as the session cookie is refused."""
    _, response = _send_to_bind(client)
    pending = client.set_cookie(response, client.pending_name).value

    replay = client.with_cookie(
        "GET", "/private", f"{client.cookie_name}={pending}", headers=API
    )

    assert replay.status_code == 401
    assert client.set_cookie(replay).clears
