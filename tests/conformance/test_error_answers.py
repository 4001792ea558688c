"""Every row of DESIGN.md's "Errors a client sees", exactly, and never a 500."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest

from y2w_middleware.testing import Fault

from .conftest import AppClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
API = {"accept": "application/json"}

Send = Callable[[AppClient, str], httpx2.Response]


def _via_login(client: AppClient, token: str) -> httpx2.Response:
    return client.post("/y2w/login", json={"identityToken": token}, headers=API)


def _via_form(client: AppClient, token: str) -> httpx2.Response:
    return client.post("/y2w/login", data={"identityToken": token}, headers=API)


def _via_query(client: AppClient, token: str) -> httpx2.Response:
    return client.get("/private", params={"identityToken": token}, headers=API)


def _via_header(client: AppClient, token: str) -> httpx2.Response:
    # Bytes: a header value may carry any octets a client sends.
    headers = {"X-Identity-Token": token.encode(), **API}
    return client.get("/private", headers=headers)


SOURCES = {
    "login-json": _via_login,
    "login-form": _via_form,
    "query": _via_query,
    "header": _via_header,
}
sources = pytest.mark.parametrize("send", SOURCES.values(), ids=SOURCES.keys())


def _assert_error(
    response: httpx2.Response, status: int, code: str, *, retry_after: bool = False
) -> None:
    """The documented error answer: status, JSON body, Retry-After or not."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"]
    if retry_after:
        assert int(response.headers["retry-after"]) > 0
    else:
        assert "retry-after" not in response.headers


@sources
@pytest.mark.parametrize(
    "token",
    ["short", "has space in it", "x" * 129, "slash/inside", "dot.inside", "a;b=c;d=e"],
    ids=["too-short", "space", "too-long", "slash", "dot", "separators"],
)
def test_badly_shaped_token_is_refused_locally(
    client: AppClient, send: Send, token: str
) -> None:
    """A token of the wrong shape gets 400 ``InvalidIdentityToken``, no gateway call."""
    response = send(client, token)

    _assert_error(response, 400, "InvalidIdentityToken")
    assert client.gw.total_calls == 0
    assert client.set_cookie(response) is None


def test_token_with_a_trailing_newline_is_refused_locally(client: AppClient) -> None:
    """The whole token must match the pattern: ``$`` before a newline is no match."""
    response = client.get("/?identityToken=abcdefgh%0A", headers={"accept": "*/*"})

    _assert_error(response, 400, "InvalidIdentityToken")
    assert client.gw.total_calls == 0


@pytest.mark.parametrize(
    "send",
    [_via_login, _via_form, _via_query],
    ids=["login-json", "login-form", "query"],
)
def test_non_ascii_token_is_refused_locally(client: AppClient, send: Send) -> None:
    """A token with non-ASCII letters gets 400 ``InvalidIdentityToken`` locally."""
    response = send(client, "ünïcode-token")

    _assert_error(response, 400, "InvalidIdentityToken")
    assert client.gw.total_calls == 0


def test_login_without_token_is_refused(client: AppClient) -> None:
    """``POST /y2w/login`` without a token gets 400 ``InvalidIdentityToken``."""
    response = client.post("/y2w/login", json={}, headers=API)

    _assert_error(response, 400, "InvalidIdentityToken")
    assert client.gw.total_calls == 0


@sources
def test_unknown_identity_token_gets_401(client: AppClient, send: Send) -> None:
    """A token the gateway never issued gets 401 ``Identity_Token_Invalid``."""
    response = send(client, "NeverIssued0123")

    _assert_error(response, 401, "Identity_Token_Invalid")
    assert client.set_cookie(response) is None


@sources
def test_expired_identity_token_gets_401(client: AppClient, send: Send) -> None:
    """An expired token gets 401 ``Identity_Token_In_Expire``."""
    response = send(client, client.token(ttl=0))

    _assert_error(response, 401, "Identity_Token_In_Expire")
    assert client.set_cookie(response) is None


def test_protected_route_without_session_gets_401(client: AppClient) -> None:
    """An API call to a protected route without a session gets 401 ``LoginRequired``."""
    response = client.get("/private", headers=API)

    _assert_error(response, 401, "LoginRequired")


def test_protected_route_sends_browser_to_login(client: AppClient) -> None:
    """A browser without a session is sent to the login URL with a relative next."""
    response = client.get("/private?x=1&y=%C3%A9", headers=HTML)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("", "", "/login")
    assert parse_qs(location.query) == {"next": ["/private?x=1&y=%C3%A9"]}


def test_refused_by_allow_gets_403(client: AppClient) -> None:
    """A logged-in user the ``allow`` predicate refuses gets 403 ``Forbidden``."""
    client.login()

    _assert_error(client.get("/admin", headers=API), 403, "Forbidden")
    _assert_error(client.get("/admin", headers=HTML), 403, "Forbidden")


def test_allowed_user_passes_allow(client: AppClient) -> None:
    """A user the ``allow`` predicate accepts reaches the view."""
    client.login("admin", "Root")

    response = client.get("/admin")

    assert response.status_code == 200
    assert response.json() == {"user": "Root"}


@sources
def test_unknown_person_over_api_gets_403(client: AppClient, send: Send) -> None:
    """An API client whose person the ``user_loader`` refuses gets 403 ``NotBound``."""
    client.people.unknown.add("stranger")

    response = send(client, client.token("stranger", "Who"))

    _assert_error(response, 403, "NotBound")
    assert client.set_cookie(response) is None


def test_unknown_person_in_browser_is_sent_to_bind(client: AppClient) -> None:
    """A browser whose person is unknown goes to the bind URL, with a pending cookie."""
    client.people.unknown.add("stranger")
    token = client.token("stranger", "Who")

    response = client.get(f"/private?identityToken={token}", headers=HTML)

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/bind"
    assert parse_qs(location.query) == {"next": ["/private"]}
    assert client.set_cookie(response, client.pending_name) is not None
    assert client.set_cookie(response) is None


@pytest.mark.parametrize("headers", [HTML, API], ids=["browser", "api"])
def test_unknown_person_without_bind_url_gets_403(
    make_client: Callable[..., AppClient], headers: dict[str, str]
) -> None:
    """Without a bind URL an unknown person gets 403 ``NotBound``, browser or not."""
    client = make_client(bind_url=None)
    client.people.unknown.add("stranger")
    token = client.token("stranger", "Who")

    for response in (
        client.get(f"/private?identityToken={token}", headers=headers),
        client.post("/y2w/login", data={"identityToken": token}, headers=headers),
    ):
        _assert_error(response, 403, "NotBound")
        assert client.set_cookie(response) is None


@sources
def test_spent_quota_gets_503_with_retry_after(client: AppClient, send: Send) -> None:
    """A spent quota gets 503 ``LimitExceeded`` with ``Retry-After``."""
    client.gw.set_quota(0)

    response = send(client, client.token())

    _assert_error(response, 503, "LimitExceeded", retry_after=True)


REFUSED_CREDENTIALS = {
    "disabled": lambda client: client.gw.disable_secret(),
    "secret-error": lambda client: client.gw.set_secret_error(),
}


@sources
@pytest.mark.parametrize(
    "refuse", REFUSED_CREDENTIALS.values(), ids=REFUSED_CREDENTIALS.keys()
)
def test_refused_credentials_get_503_without_retry_after(
    client: AppClient,
    send: Send,
    refuse: Callable[[AppClient], None],
    log_records: list[logging.LogRecord],
) -> None:
    """Refused credentials get 503 ``GatewayMisconfigured``, no ``Retry-After``."""
    refuse(client)

    response = send(client, client.token())

    _assert_error(response, 503, "GatewayMisconfigured")
    errors = [
        record
        for record in log_records
        if record.name == "y2w_middleware" and record.levelno == logging.ERROR
    ]
    assert len(errors) == client.gw.total_calls == 1


def test_wrong_secret_gets_503_without_retry_after(
    make_client: Callable[..., AppClient],
) -> None:
    """A secret the gateway does not accept gets 503 ``GatewayMisconfigured``."""
    client = make_client(secret="not-the-secret-at-all")
    client.leaks.add("not-the-secret-at-all", "the configured secret")

    response = client.post("/y2w/login", json={"identityToken": client.token()})

    _assert_error(response, 503, "GatewayMisconfigured")


UNAVAILABLE = {
    "token-502-html": (Fault.HTML_502, "token"),
    "account-502-html": (Fault.HTML_502, "account"),
    "token-non-json": (Fault.NON_JSON, "token"),
    "account-non-json": (Fault.NON_JSON, "account"),
}


@sources
@pytest.mark.parametrize(
    ("fault", "endpoint"), UNAVAILABLE.values(), ids=UNAVAILABLE.keys()
)
def test_broken_gateway_gets_503_with_retry_after(
    client: AppClient, send: Send, fault: Fault, endpoint: str
) -> None:
    """A gateway answering HTML or non-JSON gets 503 ``GatewayUnavailable``."""
    client.gw.inject(fault, endpoint=endpoint, times=None)  # type: ignore[arg-type]

    response = send(client, client.token())

    _assert_error(response, 503, "GatewayUnavailable", retry_after=True)
    assert client.set_cookie(response) is None


@pytest.mark.parametrize("endpoint", ["token", "account"])
def test_slow_gateway_gets_503_with_retry_after(
    make_client: Callable[..., AppClient], endpoint: str
) -> None:
    """A gateway slower than ``timeout`` gets 503 ``GatewayUnavailable`` in time."""
    client = make_client(timeout=0.3)
    client.gw.inject(Fault.DELAY, endpoint=endpoint, times=None, seconds=5)  # type: ignore[arg-type]
    started = time.monotonic()

    response = client.post("/y2w/login", json={"identityToken": client.token()})

    _assert_error(response, 503, "GatewayUnavailable", retry_after=True)
    assert time.monotonic() - started < 2


def test_vendor_printed_500_body_is_not_a_500(client: AppClient) -> None:
    """The 500 body as the vendor prints it (not JSON) never becomes our 500."""
    client.gw.inject(Fault.JS_LITERAL_500, endpoint="account", times=None)

    response = client.post("/y2w/login", json={"identityToken": client.token()})

    assert response.status_code in (401, 503)
    assert response.json()["error"] in (
        "Identity_Token_Invalid",
        "GatewayUnavailable",
    )


BAD_BODIES = {
    "broken-json": (b"{not json", "application/json"),
    "json-array": (b'["a-token-1234"]', "application/json"),
    "json-number-token": (b'{"identityToken": 12345678}', "application/json"),
    "non-utf8-form": (b"identityToken=\xff\xfe", "application/x-www-form-urlencoded"),
    "empty": (b"", "application/x-www-form-urlencoded"),
    "oversized": (
        b"identityToken=" + b"a" * 20000,
        "application/x-www-form-urlencoded",
    ),
}


@pytest.mark.parametrize(
    ("body", "content_type"), BAD_BODIES.values(), ids=BAD_BODIES.keys()
)
def test_malformed_login_body_is_a_client_error(
    client: AppClient, body: bytes, content_type: str
) -> None:
    """A login body that cannot hold a token gets a 4xx JSON error, no gateway call."""
    response = client.post(
        "/y2w/login", content=body, headers={"content-type": content_type, **API}
    )

    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error", "message"}
    assert client.gw.total_calls == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/y2w/login"), ("GET", "/y2w/logout"), ("POST", "/y2w/me")],
)
def test_wrong_method_on_an_endpoint_is_405(
    client: AppClient, method: str, path: str
) -> None:
    """The middleware's endpoints answer only their own method."""
    response = client.request(method, path, headers=API)

    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"
    assert "allow" in response.headers
