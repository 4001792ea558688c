"""The log-leak check itself: it must find what it looks for."""

from __future__ import annotations

import logging

import httpx2

from .conftest import Leaks, find_leaks

TOKEN = "Ab3dEf6hIj9kLm2n"


def _record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_finds_a_value_in_the_arguments() -> None:
    """A secret passed as a %-argument is found."""
    leaks = Leaks()
    leaks.add(TOKEN, "an identity token")

    found = find_leaks([_record("y2w_middleware", "resolving %s", TOKEN)], leaks)

    assert found == ["an identity token in a INFO line of 'y2w_middleware'"]


def test_finds_a_value_in_the_message() -> None:
    """A secret formatted into the message itself is found."""
    leaks = Leaks()
    leaks.add(TOKEN, "an identity token")

    found = find_leaks([_record("other", f"cookie={TOKEN}")], leaks)

    assert found == ["an identity token in a INFO line of 'other'"]


def test_skips_the_test_clients_own_request_lines() -> None:
    """The browser's own httpx2 line (host ``testserver``) is not the app's leak."""
    leaks = Leaks()
    leaks.add(TOKEN, "an identity token")
    url = httpx2.URL(f"http://testserver/?identityToken={TOKEN}")
    browser = _record("httpx2", 'HTTP Request: %s %s "%s"', "GET", url, "200")
    gateway = _record("httpx2", "HTTP Request: %s %s", "GET", f"http://gw.test/{TOKEN}")

    assert find_leaks([browser], leaks) == []
    assert find_leaks([gateway], leaks) == [
        "an identity token in a INFO line of 'httpx2'"
    ]
