"""Keeping the gateway's secrets out of httpx2's request log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx2
import pytest

from y2w_middleware import _logging
from y2w_middleware._logging import install_url_redaction, redact_url

TOKEN = "9bqzkNIrbeEpA5Ar"
APP_SECRET = "a4474wRq9BwujRV7hM4SGH0QMyrEJF5J"
BASE = "http://gateway.api.yun2win.com"
TOKEN_URL = (
    f"{BASE}/v1/token?grant_type=client_credential&appid=a44r4aMbO7BZ1NoW"
    f"&secret={APP_SECRET}"
)
ACCOUNT_URL = f"{BASE}/api/face-login/account/{TOKEN}"


@pytest.fixture
def redaction() -> Iterator[None]:
    """Install the filter for one test and leave the loggers as they were."""
    loggers = [logging.getLogger(name) for name in ("httpx2", "httpx")]
    before = {lg.name: list(lg.filters) for lg in loggers}
    install_url_redaction()
    yield
    for lg in loggers:
        lg.filters[:] = before[lg.name]


class TestRedactUrl:
    def test_account_path_token_is_masked(self) -> None:
        """The identity token in the account call's path is replaced."""
        redacted = redact_url(ACCOUNT_URL)

        assert TOKEN not in redacted
        assert redacted == f"{BASE}/api/face-login/account/[secure]"

    def test_account_path_keeps_what_follows(self) -> None:
        """Only the token segment goes; a query after it stays."""
        redacted = redact_url(f"{ACCOUNT_URL}?trace=1")

        assert redacted == f"{BASE}/api/face-login/account/[secure]?trace=1"

    def test_token_query_is_masked(self) -> None:
        """The whole query of the token call, which holds the secret, is replaced."""
        redacted = redact_url(TOKEN_URL)

        assert APP_SECRET not in redacted
        assert redacted == f"{BASE}/v1/token?[secure]"

    def test_urls_inside_a_log_line(self) -> None:
        """Both URLs are masked where they sit inside a longer message."""
        line = f'HTTP Request: GET {TOKEN_URL} "HTTP/1.1 200 OK" then {ACCOUNT_URL}'

        redacted = redact_url(line)

        assert APP_SECRET not in redacted
        assert TOKEN not in redacted
        assert redacted.startswith("HTTP Request: GET ")
        assert redacted.endswith("/api/face-login/account/[secure]")

    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("https://api.example.com/users?page=2", id="other-api"),
            pytest.param(f"{BASE}/v1/other?secret=x", id="other-gateway-path"),
            pytest.param(f"{BASE}/v1/token", id="token-without-query"),
            pytest.param("https://example.com/account/abc", id="similar-path"),
        ],
    )
    def test_other_urls_are_left_alone(self, url: str) -> None:
        """URLs that are not the two gateway calls keep their text."""
        assert redact_url(url) == url


class TestInstall:
    @pytest.mark.usefixtures("redaction")
    def test_is_idempotent(self) -> None:
        """Installing twice leaves one filter on each logger."""
        install_url_redaction()

        for name in ("httpx2", "httpx"):
            filters = logging.getLogger(name).filters
            assert filters.count(_logging._FILTER) == 1

    @pytest.mark.usefixtures("redaction")
    @pytest.mark.parametrize(
        ("url", "secret"),
        [
            pytest.param(httpx2.URL(ACCOUNT_URL), TOKEN, id="account-URL"),
            pytest.param(ACCOUNT_URL, TOKEN, id="account-str"),
            pytest.param(httpx2.URL(TOKEN_URL), APP_SECRET, id="token-URL"),
            pytest.param(TOKEN_URL, APP_SECRET, id="token-str"),
        ],
    )
    def test_httpx2_request_line_is_redacted(
        self, caplog: pytest.LogCaptureFixture, url: object, secret: str
    ) -> None:
        """httpx2's request line reaches handlers with the secret masked."""
        with caplog.at_level(logging.INFO, logger="httpx2"):
            logging.getLogger("httpx2").info(
                'HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK"
            )

        (record,) = caplog.records
        assert secret not in record.getMessage()
        assert "[secure]" in record.getMessage()
        assert record.getMessage().endswith('"HTTP/1.1 200 OK"')

    @pytest.mark.usefixtures("redaction")
    def test_real_httpx2_request_is_redacted(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A request httpx2 really sends is logged without the token."""
        transport = httpx2.MockTransport(lambda request: httpx2.Response(200))
        with (
            caplog.at_level(logging.INFO, logger="httpx2"),
            httpx2.Client(transport=transport) as client,
        ):
            client.get(ACCOUNT_URL)

        messages = [r.getMessage() for r in caplog.records if r.name == "httpx2"]
        assert len(messages) == 1
        assert TOKEN not in messages[0]
        assert "/api/face-login/account/[secure]" in messages[0]

    @pytest.mark.usefixtures("redaction")
    def test_preformatted_message_is_redacted(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A message with the URL already in it, and no args, is masked too."""
        with caplog.at_level(logging.INFO, logger="httpx2"):
            logging.getLogger("httpx2").info(f"GET {ACCOUNT_URL}")

        (record,) = caplog.records
        assert TOKEN not in record.getMessage()

    @pytest.mark.usefixtures("redaction")
    def test_other_request_lines_are_untouched(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The application's own httpx2 requests are logged as they were."""
        url = "https://api.example.com/users?page=2"
        with caplog.at_level(logging.INFO, logger="httpx2"):
            logging.getLogger("httpx2").info("HTTP Request: %s %s", "GET", url)

        (record,) = caplog.records
        assert record.getMessage() == f"HTTP Request: GET {url}"

    def test_package_logger_is_named(self) -> None:
        """Everything logs through the one ``y2w_middleware`` logger."""
        assert _logging.logger.name == "y2w_middleware"
