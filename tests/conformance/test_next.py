"""``next`` safety: only a relative path on this site is ever followed."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest

from .conftest import AppClient

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

UNSAFE = {
    "protocol-relative": "//evil.com",
    "triple-slash": "///evil.com",
    "backslash": "/\\evil.com",
    "leading-backslash": "\\\\evil.com",
    "encoded-slashes": "/%2F%2Fevil.com",
    "encoded-lower": "/%2f%2fevil.com",
    "double-encoded": "/%252F%252Fevil.com",
    "encoded-backslash": "/%5Cevil.com",
    "absolute": "https://evil.com",
    "scheme-no-slashes": "https:evil.com",
    "javascript": "javascript:alert(1)",
    "javascript-mixed-case": "JaVaScRiPt:alert(1)",
    "leading-space": " //evil.com",
    "leading-tab": "\t//evil.com",
    "inner-tab": "/\t/evil.com",
    "inner-newline": "/\n/evil.com",
    "encoded-tab": "/%09/evil.com",
    "encoded-newline": "/%0a/evil.com",
    "no-leading-slash": "evil.com",
}

Send = Callable[[AppClient, str], httpx2.Response]


def _login_query(client: AppClient, target: str) -> httpx2.Response:
    form = {"identityToken": client.token()}
    return client.post("/y2w/login", params={"next": target}, data=form, headers=HTML)


def _login_body(client: AppClient, target: str) -> httpx2.Response:
    form = {"identityToken": client.token(), "next": target}
    return client.post("/y2w/login", data=form, headers=HTML)


def _login_json(client: AppClient, target: str) -> httpx2.Response:
    body = {"identityToken": client.token(), "next": target}
    return client.post("/y2w/login", json=body, headers=HTML)


def _logout(client: AppClient, target: str) -> httpx2.Response:
    return client.post("/y2w/logout", params={"next": target})


def _bind_complete(client: AppClient, target: str) -> httpx2.Response:
    client.people.unknown.add("s-1")
    client.get(f"/?identityToken={client.token('s-1', 'S')}", headers=HTML)
    client.people.unknown.clear()
    return client.post("/y2w/bind/complete", params={"next": target})


SENDERS = {
    "login-query": _login_query,
    "login-form": _login_body,
    "login-json": _login_json,
    "logout": _logout,
    "bind-complete": _bind_complete,
}


@pytest.mark.parametrize("send", SENDERS.values(), ids=SENDERS.keys())
@pytest.mark.parametrize("target", UNSAFE.values(), ids=UNSAFE.keys())
def test_unsafe_next_goes_home(client: AppClient, send: Send, target: str) -> None:
    """A ``next`` that could leave the site is replaced by ``/``."""
    response = send(client, target)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("send", SENDERS.values(), ids=SENDERS.keys())
@pytest.mark.parametrize(
    "target",
    ["/private", "/a/b?c=d&e=f", "/%E4%B8%AD?q=1"],
    ids=["path", "path-and-query", "escaped"],
)
def test_safe_next_is_followed(client: AppClient, send: Send, target: str) -> None:
    """A relative path on this site is followed as given."""
    response = send(client, target)

    assert response.status_code == 303
    assert response.headers["location"] == target
