"""The package's one logger, and the guard that keeps secrets out of logs.

Everything logs through ``logging.getLogger("y2w_middleware")`` with %-style
arguments; no handler is added and no level is set, that is the app's
business. httpx2 logs every request at INFO with its full URL, and both of
our gateway calls carry a secret in the URL (the app secret in the token
call's query, the identity token in the account call's path), so a filter
on httpx2's logger rewrites those URLs before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_url_redaction", "logger", "redact_url"]

logger = logging.getLogger("y2w_middleware")

#: What stands in a log where a secret value was.
REDACTED = "[secure]"

_ACCOUNT_PATH = re.compile(r"(/api/face-login/account/)[^?#\s\"']*")
_TOKEN_QUERY = re.compile(r"(/v1/token)\?[^#\s\"']*")


def redact_url(url: str) -> str:
    """Return *url* with the gateway's secret-bearing parts masked.

    Only the two gateway paths are touched, so the app's other httpx2
    requests keep their log lines as they were.
    """
    # Both gateway calls put a secret somewhere in the URL: the query of the
    # token call holds the app secret, the account path the identity token.
    url = _ACCOUNT_PATH.sub(lambda m: m.group(1) + REDACTED, url)
    return _TOKEN_QUERY.sub(lambda m: m.group(1) + "?" + REDACTED, url)


class _RedactGatewayURLs(logging.Filter):
    """Rewrites URL arguments of httpx2's request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(str(arg)) if _looks_like_url(arg) else arg
                for arg in record.args
            )
        elif isinstance(record.msg, str) and "://" in record.msg:
            record.msg = redact_url(record.msg)
        return True


def _looks_like_url(arg: object) -> bool:
    return type(arg).__name__ == "URL" or (isinstance(arg, str) and "://" in arg)


_FILTER = _RedactGatewayURLs()


def install_url_redaction() -> None:
    """Attach the URL filter to httpx2's logger, once per process."""
    for name in ("httpx2", "httpx"):
        target = logging.getLogger(name)
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
