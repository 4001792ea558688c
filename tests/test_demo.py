"""The ``y2w demo`` app: scan, log in, bind, log out, as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2
import pytest
from starlette.testclient import TestClient

from y2w_middleware._demo import DEMO_PEOPLE, build_demo_app, serve_gateway
from y2w_middleware.testing import FakeGateway

KNOWN = DEMO_PEOPLE[0]
UNKNOWN = next(person for person in DEMO_PEOPLE if not person.has_account)
HTML = {"accept": "text/html"}


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def client(gw: FakeGateway) -> Iterator[TestClient]:
    """The demo app, talking to ``gw`` served over real HTTP."""
    with (
        serve_gateway(gw, "127.0.0.1", 0) as url,
        TestClient(build_demo_app(url, gw)) as client,
    ):
        yield client


def scan_and_login(client: TestClient, uid: str) -> httpx2.Response:
    """What the login page's script does when a card is clicked."""
    scanned = client.post("/demo/scan", json={"uid": uid})
    assert scanned.status_code == 200
    token = scanned.json()["identityToken"]
    return client.post("/y2w/login", json={"identityToken": token})


def test_protected_page_sends_a_browser_to_login(client: TestClient) -> None:
    """``/`` without a session: 303 to the login page, coming back after."""
    answer = client.get("/", headers=HTML, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/"


def test_login_page_is_self_contained(client: TestClient) -> None:
    """Every demo person has a card; no external asset; scripts carry the nonce."""
    page = client.get("/login")

    assert page.status_code == 200
    for person in DEMO_PEOPLE:
        assert f'data-uid="{person.uid}"' in page.text
    assert "<link" not in page.text
    assert "src=" not in page.text
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce is not None
    assert page.text.count(f'nonce="{nonce[1]}"') == 2  # the style and the script


def test_login_page_only_keeps_a_relative_next(client: TestClient) -> None:
    """An off-site ``next`` becomes ``/``; the page's script goes there."""
    assert 'data-next="/"' in client.get("/login?next=//evil.example/").text
    assert 'data-next="/inbox"' in client.get("/login?next=/inbox").text


def test_known_person_is_greeted(client: TestClient) -> None:
    """Scan, log in through ``/y2w/login``, and ``/`` says hello."""
    login = scan_and_login(client, KNOWN.uid)

    assert login.status_code == 200
    assert login.json()["uid"] == KNOWN.uid
    assert f"Hello, {KNOWN.name}" in client.get("/", headers=HTML).text


def test_unknown_person_binds_then_is_greeted(client: TestClient) -> None:
    """NotBound, the bind page, one click, ``bind/complete``, and hello."""
    assert scan_and_login(client, UNKNOWN.uid).json()["error"] == "NotBound"

    bind_page = client.get("/bind?next=/")
    assert f"Welcome, {UNKNOWN.name}" in bind_page.text
    assert 'action="/y2w/bind/complete?next=/"' in bind_page.text

    assert client.post("/demo/accounts").status_code == 201
    done = client.post(
        "/y2w/bind/complete?next=/", headers=HTML, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    assert f"Hello, {UNKNOWN.name}" in client.get("/").text


def test_bound_person_logs_in_directly_next_time(client: TestClient) -> None:
    """Once the account exists, the same face logs straight in."""
    scan_and_login(client, UNKNOWN.uid)
    client.post("/demo/accounts")
    client.post("/y2w/logout")

    assert scan_and_login(client, UNKNOWN.uid).status_code == 200


def test_logout_ends_the_session(client: TestClient) -> None:
    """The logout form: 303 to the login page, and ``/`` is closed again."""
    scan_and_login(client, KNOWN.uid)

    out = client.post("/y2w/logout?next=/login", headers=HTML, follow_redirects=False)

    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    again = client.get("/", headers=HTML, follow_redirects=False)
    assert again.status_code == 303


def test_names_are_escaped(client: TestClient, gw: FakeGateway) -> None:
    """A name holding HTML shows as text on the bind page and the greeting."""
    name = '<script>alert("x")</script> & co'
    token = gw.issue_identity_token("x1", name)
    client.post("/y2w/login", json={"identityToken": token})

    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"
    assert escaped in client.get("/bind").text
    client.post("/demo/accounts")
    client.post("/y2w/bind/complete")
    home = client.get("/").text
    assert f"Hello, {escaped}" in home
    assert "<script>alert" not in home


def test_bind_page_without_a_pending_identity(client: TestClient) -> None:
    """Nobody waiting: the page says so and links to the login page."""
    page = client.get("/bind")

    assert page.status_code == 200
    assert "Nothing to bind" in page.text


def test_accounts_are_only_created_for_a_verified_face(client: TestClient) -> None:
    """``/demo/accounts`` reads the signed pending identity, nothing else."""
    answer = client.post("/demo/accounts", json={"uid": KNOWN.uid})

    assert answer.status_code == 403
    assert answer.json()["error"] == "NothingToBind"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"uid": "nobody"}, id="unknown-uid"),
        pytest.param({}, id="no-uid"),
        pytest.param([1, 2], id="not-an-object"),
    ],
)
def test_scan_of_an_unknown_face(client: TestClient, body: object) -> None:
    """Only the demo people can be scanned."""
    assert client.post("/demo/scan", json=body).status_code == 404


def test_scan_of_a_body_that_is_not_json(client: TestClient) -> None:
    """A broken body is no face either."""
    assert client.post("/demo/scan", content=b"{").status_code == 404
