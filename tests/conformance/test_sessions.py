"""Cookie sessions: the hot path, the cookie's attributes, bad cookies, rotation."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from y2w_middleware._session import SessionCodec

from .conftest import NAME, OLD_SESSION_SECRET, UID, AppClient


def _issue(client: AppClient, *, at: float | None = None, **overrides: object) -> str:
    """A session cookie value signed as the middleware would, perhaps at *at*."""
    settings = dataclasses.replace(client.settings, **overrides)
    clock = time.time if at is None else (lambda: at)
    value, _ = SessionCodec(settings, clock=clock).issue(UID, NAME)
    client.leaks.add(value, "a forged cookie value")
    return value


def test_later_requests_carry_only_the_cookie(client: AppClient) -> None:
    """After login, requests are served from the cookie with no gateway call."""
    client.login()
    before = client.gw.calls

    for _ in range(3):
        response = client.get("/private")
        assert response.status_code == 200
        assert response.json() == {"user": NAME}

    assert client.gw.calls == before


def test_app_sees_the_user_every_way(client: AppClient) -> None:
    """The app finds the user by ``get_user(request)``, natively, and by context."""
    client.login()

    page = client.get("/").json()

    assert (page["user"], page["native"], page["context"]) == (NAME, NAME, NAME)


def test_anonymous_answer_varies_on_cookie(client: AppClient) -> None:
    """An answer that looked for a session says ``Vary: Cookie``."""
    response = client.get("/")

    assert response.status_code == 200
    assert response.json()["user"] == "anonymous"
    assert "cookie" in response.headers["vary"].lower()


def test_session_answers_are_private(client: AppClient) -> None:
    """Answers that set or read a session say ``Vary: Cookie`` and ``no-store``."""
    login = client.login()
    page = client.get("/private")

    for response in (login, page):
        assert "cookie" in response.headers["vary"].lower()
        assert response.headers["cache-control"] == "no-store"


def test_session_cookie_attributes(client: AppClient) -> None:
    """The session cookie is HttpOnly, SameSite=Lax, Path=/, with a Max-Age."""
    cookie = client.set_cookie(client.login())

    assert "httponly" in cookie.flags
    assert cookie.attributes["samesite"] == "Lax"
    assert cookie.attributes["path"] == "/"
    max_age = int(cookie.attributes["max-age"])
    assert client.settings.session_max_age - 5 <= max_age
    assert max_age <= client.settings.session_max_age
    assert "secure" not in cookie.flags  # cookie_secure=False here


def test_session_cookie_is_secure_by_default(
    make_client: Callable[..., AppClient],
) -> None:
    """Without ``cookie_secure=False`` the cookie carries ``Secure``."""
    client = make_client(cookie_secure=True)

    response = client.post("/y2w/login", json={"identityToken": client.token()})

    assert response.status_code == 200
    assert "secure" in client.set_cookie(response).flags


def _tampered(client: AppClient) -> str:
    value = client.session or ""
    index = 6
    swapped = "A" if value[index] != "A" else "B"
    return f"{client.cookie_name}={value[:index]}{swapped}{value[index + 1 :]}"


def _truncated(client: AppClient) -> str:
    return f"{client.cookie_name}={(client.session or '')[:-4]}"


def _future(client: AppClient) -> str:
    return f"{client.cookie_name}={_issue(client, at=time.time() + 3600)}"


def _expired(client: AppClient) -> str:
    past = time.time() - client.settings.session_max_age - 10
    return f"{client.cookie_name}={_issue(client, at=past)}"


def _oversized(client: AppClient) -> str:
    settings = client.settings
    # Random, so that the serializer's compression cannot shrink it.
    value, _ = SessionCodec(settings).issue(UID, secrets.token_urlsafe(6000))
    assert len(value) > 4096
    client.leaks.add(value, "a forged cookie value")
    return f"{settings.cookie_name}={value}"


def _twice(client: AppClient) -> str:
    value = client.session
    return f"{client.cookie_name}={value}; {client.cookie_name}={value}"


def _garbage(client: AppClient) -> str:
    return f"{client.cookie_name}=not-a-session"


def _foreign_key(client: AppClient) -> str:
    key = "a-key-we-never-had-0123456789"
    return f"{client.cookie_name}={_issue(client, session_secret=key)}"


BAD_COOKIES = {
    "tampered": _tampered,
    "truncated": _truncated,
    "future-dated": _future,
    "expired": _expired,
    "oversized": _oversized,
    "named-twice": _twice,
    "garbage": _garbage,
    "foreign-key": _foreign_key,
}


@pytest.mark.parametrize("make_bad", BAD_COOKIES.values(), ids=BAD_COOKIES.keys())
def test_bad_cookie_is_anonymous_and_cleared(
    client: AppClient, make_bad: Callable[[AppClient], str]
) -> None:
    """A bad session cookie makes the request anonymous and clears the cookie."""
    client.login()
    header = make_bad(client)

    page = client.with_cookie("GET", "/", header)
    private = client.with_cookie("GET", "/private", header)
    me = client.with_cookie("GET", "/y2w/me", header)

    assert page.status_code == 200
    assert page.json()["user"] == "anonymous"
    assert private.status_code == 401
    assert private.json()["error"] == "LoginRequired"
    assert me.status_code == 401
    for response in (page, private, me):
        assert client.set_cookie(response).clears
        assert response.headers["cache-control"] == "no-store"


def test_session_is_not_extended_by_use(client: AppClient) -> None:
    """Using a session never reissues its cookie: the expiry is absolute."""
    login = client.login()

    response = client.get("/private")

    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    me = client.get("/y2w/me").json()
    assert me["session_expires"] == login.json()["session_expires"]


def test_session_ends_max_age_after_login(client: AppClient) -> None:
    """A cookie older than the max age is refused, whatever expiry it claims."""
    max_age = client.settings.session_max_age
    value = _issue(client, at=time.time() - max_age - 5, session_max_age=10 * max_age)

    response = client.with_cookie("GET", "/private", f"{client.cookie_name}={value}")

    assert response.status_code == 401
    assert client.set_cookie(response).clears


def test_session_expires_is_login_plus_max_age(client: AppClient) -> None:
    """The JSON user's ``session_expires`` is the login time plus the max age."""
    started = time.time()

    user = client.login().json()

    expires = datetime.fromisoformat(user["session_expires"]).timestamp()
    max_age = client.settings.session_max_age
    assert started + max_age - 2 <= expires <= time.time() + max_age + 1


def test_cookie_signed_with_fallback_key_still_works(
    make_client: Callable[..., AppClient],
) -> None:
    """After a key rotation, a cookie signed with a fallback key is accepted."""
    client = make_client(session_secret_fallbacks=(OLD_SESSION_SECRET,))
    old = _issue(client, session_secret=OLD_SESSION_SECRET, session_secret_fallbacks=())

    response = client.with_cookie("GET", "/private", f"{client.cookie_name}={old}")

    assert response.status_code == 200
    assert response.json() == {"user": NAME}


def test_new_sessions_are_signed_with_the_current_key(
    make_client: Callable[..., AppClient],
) -> None:
    """A new session verifies under the current key alone, not only a fallback."""
    client = make_client(session_secret_fallbacks=(OLD_SESSION_SECRET,))
    client.login()

    current_only = dataclasses.replace(client.settings, session_secret_fallbacks=())
    assert SessionCodec(current_only).read(client.session or "") is not None
