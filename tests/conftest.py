"""Fixtures shared by the whole suite.

Tests that need a service (a Redis server) skip when it is missing on a
developer's machine, and fail instead when ``Y2W_REQUIRE_SERVICES=1`` is
set, as CI does, so that nothing is skipped there silently.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

REQUIRE_SERVICES = os.environ.get("Y2W_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip the test here, or fail it when services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A Redis URL: ``Y2W_TEST_REDIS_URL``, or a private redis-server."""
    url = os.environ.get("Y2W_TEST_REDIS_URL")
    if url:
        yield url
        return

    binary = shutil.which("redis-server")
    if binary is None:
        missing_service("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments, local binary
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The Redis URL, with the database flushed before each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    client.close()
    return redis_server


# -- the log-leak check over the whole suite ----------------------------------
# Every record any test logs, at every level, is read for the shapes a leaked
# secret takes. The conformance suite and the client tests also check for
# the exact values they issued; this net catches the rest of the suite.

_LEAK_SHAPES = [
    # The gateway's path template ({token}) and the redacted form are fine.
    (
        re.compile(r"/api/face-login/account/(?!\[secure\]|\{token\})[^\s\"'/?]+"),
        "identity token",
    ),
    (re.compile(r"[?&]secret=(?!\[secure\])[^&\s\"']+"), "app secret in a URL"),
    (re.compile(r"Bearer\s+[A-Za-z0-9]"), "access token"),
    (re.compile(r"y2w_session(?:_bind)?=[A-Za-z0-9]"), "cookie value"),
]
#: The test clients' own request lines: they log what the simulated browser
#: sent, tokens included; the server side is what must stay clean.
_CLIENT_SIDE = re.compile(r"https?://(?:testserver|127\.0\.0\.1:\d+)/(?!api/|v1/)")


class _LeakNet(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.getMessage()} {record.args!r}"
        if record.name.startswith("httpx") and _CLIENT_SIDE.search(text):
            return
        # httpcore traces the answers a test client receives; the gateway
        # never sets cookies, so a Set-Cookie there is our app's answer
        # arriving at the simulated browser.
        if record.name.startswith("httpcore") and "receive_response_headers" in text:
            return
        for shape, what in _LEAK_SHAPES:
            if shape.search(text):
                self.found.append(f"{what} in a {record.name} record")


@pytest.fixture(autouse=True)
def _no_secret_in_any_log_record() -> Iterator[None]:
    net = _LeakNet()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(net)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(net)
        root.setLevel(old_level)
    assert net.found == [], net.found
