"""The answers the middleware gives itself, and where ``next`` may lead."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from y2w_middleware._answers import (
    error,
    is_browser,
    json_answer,
    redirect,
    safe_next,
    with_next,
)


class TestSafeNext:
    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("/", id="root"),
            pytest.param("/a/b?x=1", id="path-query"),
            pytest.param("/a/b?x=1&y=2#part", id="fragment"),
            pytest.param("/%E4%B8%AD", id="escaped-non-ascii"),
            pytest.param("/a%20b", id="escaped-space"),
            pytest.param("/search?q=a%2Fb", id="escaped-slash-in-query"),
            pytest.param("/a:b", id="colon-in-path"),
        ],
    )
    def test_relative_path_is_kept(self, value: str) -> None:
        """A relative path on this site is followed as it is."""
        assert safe_next(value) == value

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("//evil.com", id="protocol-relative"),
            pytest.param("/\\evil.com", id="backslash"),
            pytest.param("/%2F%2Fevil.com", id="encoded-slashes"),
            pytest.param("/%2F/evil.com", id="one-encoded-slash"),
            pytest.param("/%5Cevil.com", id="encoded-backslash"),
            pytest.param("/%252F%252Fevil.com", id="double-encoded"),
            pytest.param("https://evil.com", id="absolute"),
            pytest.param("HTTPS://evil.com", id="absolute-upper"),
            pytest.param("javascript:alert(1)", id="javascript"),
            pytest.param(" /x", id="leading-space"),
            pytest.param("/\t/evil.com", id="tab"),
            pytest.param("/%09/evil.com", id="encoded-tab"),
            pytest.param("/\n/evil.com", id="newline"),
            pytest.param("/x\r\nSet-Cookie: a=b", id="header-injection"),
            pytest.param("/%0d%0aSet-Cookie:%20a=b", id="encoded-injection"),
            pytest.param("/\x00", id="nul"),
            pytest.param("/x\ud800", id="lone-surrogate"),
            pytest.param("evil.com", id="bare-host"),
            pytest.param("", id="empty"),
            pytest.param(None, id="none"),
        ],
    )
    def test_anything_else_becomes_root(self, value: str | None) -> None:
        """Values that could leave the site, or break a header, give ``/``."""
        assert safe_next(value) == "/"

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("/中", "/%E4%B8%AD", id="cjk"),
            pytest.param("/a/é?q=ü", "/a/%C3%A9?q=%C3%BC", id="accents"),
            pytest.param("/x\u2028y", "/x%E2%80%A8y", id="line-separator"),
            pytest.param("/my files?q=a b", "/my%20files?q=a%20b", id="inner-space"),
            pytest.param("/x ", "/x%20", id="trailing-space"),
            pytest.param("/中?%E4%B8%AD", "/%E4%B8%AD?%E4%B8%AD", id="mixed"),
        ],
    )
    def test_decoded_characters_are_escaped(self, value: str, expected: str) -> None:
        """A decoded path comes back escaped, fit for a Location header."""
        result = safe_next(value)

        assert result == expected
        result.encode("ascii")


class TestError:
    def test_body_shape(self) -> None:
        """The body is exactly ``{"error": CODE, "message": TEXT}``."""
        answer = error("LoginRequired", 401)

        assert answer.status == 401
        body = json.loads(answer.body)
        assert set(body) == {"error", "message"}
        assert body["error"] == "LoginRequired"
        assert body["message"]

    def test_custom_message(self) -> None:
        """A given message replaces the standard text, kept as UTF-8."""
        answer = error("Identity_Token_Invalid", 401, message="identityToken无效")

        assert json.loads(answer.body.decode("utf-8")) == {
            "error": "Identity_Token_Invalid",
            "message": "identityToken无效",
        }

    def test_unknown_code_is_its_own_message(self) -> None:
        """A code without a standard text still gets a message."""
        assert json.loads(error("SomethingNew", 503).body)["message"] == "SomethingNew"

    def test_headers(self) -> None:
        """Errors are JSON, vary on Cookie and are never stored by caches."""
        headers = error("Forbidden", 403).headers

        assert ("content-type", "application/json") in headers
        assert ("vary", "Cookie") in headers
        assert ("cache-control", "no-store") in headers

    def test_extra_headers_are_added(self) -> None:
        """Extra headers, such as Retry-After, are sent along."""
        answer = error("GatewayUnavailable", 503, [("retry-after", "5")])

        assert ("retry-after", "5") in answer.headers
        assert ("content-type", "application/json") in answer.headers

    def test_header_names_are_lower_case(self) -> None:
        """Header names are lower case, as ASGI wants them."""
        answer = error("Forbidden", 403, [("retry-after", "5")])

        assert all(name == name.lower() for name, _ in answer.headers)


def test_json_answer_is_compact_utf8() -> None:
    """A JSON answer's body is compact UTF-8, not ASCII escapes."""
    answer = json_answer(200, {"name": "张德强", "uid": "f3292423"})

    assert answer.status == 200
    assert answer.body == '{"name":"张德强","uid":"f3292423"}'.encode()


class TestRedirect:
    def test_is_see_other(self) -> None:
        """A redirect is a 303, so the browser follows it with a GET."""
        answer = redirect("/dashboard")

        assert answer.status == 303
        assert ("location", "/dashboard") in answer.headers
        assert answer.body == b""

    def test_is_private(self) -> None:
        """A redirect that may set a session is not stored by caches."""
        headers = redirect("/").headers

        assert ("cache-control", "no-store") in headers
        assert ("vary", "Cookie") in headers

    def test_extra_headers_are_added(self) -> None:
        """Extra headers, such as Set-Cookie, are sent along."""
        answer = redirect("/", [("set-cookie", "a=b")])

        assert ("set-cookie", "a=b") in answer.headers


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param("text/html,application/xhtml+xml,*/*;q=0.8", True, id="browser"),
        pytest.param("text/html", True, id="html-only"),
        pytest.param("application/json", False, id="json"),
        pytest.param("*/*", False, id="anything"),
        pytest.param("", False, id="empty"),
        pytest.param(None, False, id="missing"),
    ],
)
def test_is_browser(accept: str | None, expected: bool) -> None:
    """A request is a browser navigation when its Accept includes text/html."""
    assert is_browser(accept) is expected


class TestWithNext:
    @pytest.mark.parametrize(
        ("url", "next_path", "expected"),
        [
            pytest.param("/login", "/a/b", "/login?next=/a/b", id="plain"),
            pytest.param(
                "/login?lang=zh", "/a", "/login?lang=zh&next=/a", id="has-query"
            ),
            pytest.param(
                "https://sso.example.com/face",
                "/a?x=1&y=2",
                "https://sso.example.com/face?next=/a%3Fx%3D1%26y%3D2",
                id="absolute-url",
            ),
            pytest.param("/login", "/a b#c", "/login?next=/a%20b%23c", id="space"),
        ],
    )
    def test_next_is_added_quoted(
        self, url: str, next_path: str, expected: str
    ) -> None:
        """``next`` is appended with its own query and fragment quoted."""
        assert with_next(url, next_path) == expected

    def test_round_trip(self) -> None:
        """The login page reads back exactly the path that was passed."""
        next_path = "/reports?year=2024&q=a+b&name=中"
        url = with_next("/login?lang=zh", next_path)

        query = parse_qs(urlsplit(url).query)
        assert query == {"lang": ["zh"], "next": [next_path]}
