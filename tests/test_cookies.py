"""Finding our cookie in a ``Cookie`` header and formatting ``Set-Cookie``."""

from __future__ import annotations

from typing import Any

import pytest

from y2w_middleware import Settings
from y2w_middleware._cookies import DUPLICATE, CookieJar, cookie_pattern, find_cookie

NAME = "y2w_session"
PATTERN = cookie_pattern(NAME)


def settings(**overrides: Any) -> Settings:
    """Valid settings with *overrides*."""
    return Settings(
        appid="app",
        secret="app-secret",  # type: ignore[arg-type]
        session_secret="session-key-0123456789",  # type: ignore[arg-type]
        **overrides,
    )


class TestFindCookie:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            pytest.param("y2w_session=abc", "abc", id="alone"),
            pytest.param("a=1; y2w_session=abc; b=2", "abc", id="middle"),
            pytest.param("a=1;y2w_session=abc", "abc", id="no-space"),
            pytest.param("a=1; y2w_session=abc.def-_", "abc.def-_", id="signed-shape"),
            pytest.param('y2w_session="abc"', "abc", id="quoted"),
            pytest.param("y2w_session=", "", id="empty-value"),
            pytest.param("xy2w_session=evil; y2w_session=ok", "ok", id="suffix-first"),
        ],
    )
    def test_finds_the_value(self, header: str, expected: str) -> None:
        """The value of our cookie is found wherever it is in the header."""
        assert find_cookie(header, PATTERN) == expected

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("", id="empty-header"),
            pytest.param("a=1; b=2", id="other-cookies"),
            pytest.param("xy2w_session=evil", id="name-ends-with-ours"),
            pytest.param("a=1; my_y2w_session=evil", id="suffix-after-others"),
            pytest.param("y2w_session_pending=x", id="name-starts-with-ours"),
            pytest.param("a=y2w_session=evil", id="inside-a-value"),
        ],
    )
    def test_absent_is_none(self, header: str) -> None:
        """A header without exactly our cookie name gives None."""
        assert find_cookie(header, PATTERN) is None

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("y2w_session=a; y2w_session=b", id="two-values"),
            pytest.param("y2w_session=a; x=1; y2w_session=a", id="same-value-twice"),
        ],
    )
    def test_duplicate_is_marked(self, header: str) -> None:
        """Our name twice in one header gives the DUPLICATE marker, not a value."""
        assert find_cookie(header, PATTERN) is DUPLICATE

    def test_name_is_not_a_regular_expression(self) -> None:
        """Characters special to regular expressions in the name match literally."""
        pattern = cookie_pattern("a.b")

        assert find_cookie("axb=1", pattern) is None
        assert find_cookie("a.b=1", pattern) == "1"


def attributes(set_cookie: str) -> tuple[str, list[str]]:
    """Split a Set-Cookie value into its ``name=value`` pair and attributes."""
    pair, *rest = set_cookie.split("; ")
    return pair, rest


class TestCookieJar:
    def test_set_has_every_attribute(self) -> None:
        """The default cookie is HttpOnly, Secure, SameSite=Lax on path /."""
        jar = CookieJar.for_settings(NAME, settings())
        pair, attrs = attributes(jar.set("v.sig", 28800))

        assert pair == "y2w_session=v.sig"
        assert sorted(attrs) == sorted(
            ["Max-Age=28800", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"]
        )

    def test_secure_only_when_asked(self) -> None:
        """``cookie_secure=False`` leaves the Secure attribute out."""
        jar = CookieJar.for_settings(NAME, settings(cookie_secure=False))
        _, attrs = attributes(jar.set("v", 60))

        assert "Secure" not in attrs
        assert "HttpOnly" in attrs

    def test_domain_when_set(self) -> None:
        """A configured domain becomes the Domain attribute."""
        jar = CookieJar.for_settings(NAME, settings(cookie_domain="example.com"))
        _, attrs = attributes(jar.set("v", 60))

        assert "Domain=example.com" in attrs

    def test_no_domain_by_default(self) -> None:
        """Without a configured domain the cookie is host-only."""
        _, attrs = attributes(CookieJar.for_settings(NAME, settings()).set("v", 60))

        assert not any(a.startswith("Domain=") for a in attrs)

    @pytest.mark.parametrize(
        ("samesite", "expected"),
        [
            pytest.param("lax", "SameSite=Lax", id="lax"),
            pytest.param("strict", "SameSite=Strict", id="strict"),
            pytest.param("none", "SameSite=None", id="none"),
        ],
    )
    def test_samesite(self, samesite: str, expected: str) -> None:
        """The SameSite setting is written in its usual capitalisation."""
        jar = CookieJar.for_settings(NAME, settings(cookie_samesite=samesite))

        assert expected in attributes(jar.set("v", 60))[1]

    def test_path_and_name(self) -> None:
        """The configured path and the given name are used."""
        jar = CookieJar.for_settings("y2w_pending", settings(cookie_path="/app"))
        pair, attrs = attributes(jar.set("v", 600))

        assert pair == "y2w_pending=v"
        assert "Path=/app" in attrs
        assert "Max-Age=600" in attrs

    def test_clear_expires_the_cookie(self) -> None:
        """``clear`` empties the value with Max-Age=0 and an Expires in the past."""
        jar = CookieJar.for_settings(NAME, settings(cookie_domain="example.com"))
        pair, attrs = attributes(jar.clear())

        assert pair == "y2w_session="
        assert "Max-Age=0" in attrs
        assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in attrs

    def test_clear_keeps_path_and_domain(self) -> None:
        """A browser only drops a cookie whose path and domain match the set one."""
        jar = CookieJar.for_settings(
            NAME, settings(cookie_domain="example.com", cookie_path="/app")
        )
        _, set_attrs = attributes(jar.set("v", 60))
        _, clear_attrs = attributes(jar.clear())

        for attr in ("Path=/app", "Domain=example.com", "HttpOnly", "Secure"):
            assert attr in set_attrs
            assert attr in clear_attrs
