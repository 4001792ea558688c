"""The answers the middleware gives itself, as plain data.

An ``Answer`` is a status, headers and a body, independent of any
framework; the adapters and the ``login_required`` decorator turn it into
whatever their server or framework sends. Every error body has the same
shape, ``{"error": CODE, "message": TEXT}`` (DESIGN.md, "Errors a client
sees"), and no answer ever repeats a token or a cookie value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .errors import (
    CredentialError,
    GatewayError,
    GatewayUnavailable,
    IdentityTokenError,
    LimitExceeded,
    Y2WError,
)

__all__ = [
    "Answer",
    "error",
    "gateway_failure",
    "is_browser",
    "json_answer",
    "redirect",
    "safe_next",
    "with_next",
]

Headers = list[tuple[str, str]]

#: Sent with every answer that carries or clears session state: such
#: answers are personal and must not be stored by a shared cache.
PRIVATE: Headers = [("vary", "Cookie"), ("cache-control", "no-store")]
#: Sent with every answer to a request that consumed an identity token, so
#: the URL that held it is not passed on in a Referer header.
NO_REFERRER: Headers = [("referrer-policy", "no-referrer")]

#: Marks an error raised through a framework's own exception (FastAPI's
#: ``HTTPException`` renders ``{"detail": ...}``): the ASGI adapter swaps
#: such an answer for the documented one for the code the header names.
ANSWER_HEADER = "x-y2w-answer"

_MESSAGES = {
    "InvalidIdentityToken": "The identity token is missing or malformed.",
    "Identity_Token_Invalid": "The identity token is not valid.",
    "Identity_Token_In_Expire": "The identity token has expired.",
    "LoginRequired": "You need to log in first.",
    "Forbidden": "You are not allowed to do this.",
    "NotBound": "This person has no account here yet.",
    "LimitExceeded": "The face-login quota is spent; try again later.",
    "GatewayMisconfigured": "Face login is misconfigured on this server.",
    "GatewayUnavailable": "Face login is unavailable right now; try again soon.",
    "CrossSiteRequest": "This request must come from this site.",
    "MethodNotAllowed": "This method is not allowed here.",
    "BadRequest": "The request body could not be read.",
    "PayloadTooLarge": "The request body is too large.",
}


@dataclass(slots=True)
class Answer:
    """A complete HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


def json_answer(
    status: int, payload: Any, headers: Sequence[tuple[str, str]] = ()
) -> Answer:
    """An answer with a JSON body."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(
        status,
        [("content-type", "application/json"), *PRIVATE, *headers],
        body,
    )


def error(
    code: str,
    status: int,
    headers: Sequence[tuple[str, str]] = (),
    message: str | None = None,
) -> Answer:
    """The documented error answer for *code*."""
    text = message if message is not None else _MESSAGES.get(code, code)
    return json_answer(status, {"error": code, "message": text}, headers)


def redirect(location: str, headers: Sequence[tuple[str, str]] = ()) -> Answer:
    """A 303 See Other: the browser follows it with a GET."""
    # An empty body still names its type: WSGI's validator and some proxies
    # expect Content-Type on every answer but 204 and 304.
    return Answer(
        303,
        [("location", location), ("content-type", "text/plain"), *PRIVATE, *headers],
    )


def is_browser(accept: str | None) -> bool:
    """Whether a request is a browser navigation (DESIGN.md: Accept has html)."""
    return accept is not None and "text/html" in accept


# Characters browsers drop or treat as separators before resolving a URL;
# any of them in a ``next`` value is a sign of an attempt to escape the site.
# A space is only stripped at the ends of a URL (WHATWG URL parsing), and
# the leading "/" is checked apart, so an inner space (``/my%20files``, or
# ``/my files`` once the query string was decoded) is allowed and escaped.
# Lone surrogates (possible from a JSON body) cannot be encoded at all.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\\ud800-\udfff]")
#: What may stay as it is in a Location header: printable ASCII. ``%`` is
#: among it, so escapes already present are kept, not doubled.
_LOCATION_SAFE = "".join(map(chr, range(0x21, 0x7F)))


def safe_next(value: str | None) -> str:
    """*value* if it is a relative path on this site, else ``/``.

    ``//host``, ``/\\host``, schemes, and their percent-encoded or
    whitespace-padded variants all become ``/``.
    """
    if not value:
        return "/"
    decoded = value
    for _ in range(3):  # undo nested percent-encoding, as far as it goes
        decoded = unquote(decoded)
    if not value.startswith("/") or not decoded.startswith("/"):
        return "/"
    if decoded.startswith("//") or _UNSAFE.search(decoded):
        return "/"
    parts = urlsplit(decoded)
    if parts.scheme or parts.netloc:
        return "/"
    # A query string arrives decoded, so ``/中`` is common; header values
    # must be ASCII, so such characters go back to percent-escapes.
    return quote(value, safe=_LOCATION_SAFE)


def with_next(url: str, next_path: str) -> str:
    """*url* with a ``next`` query parameter added."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}next={quote(next_path, safe='/')}"


def gateway_failure(exc: Y2WError) -> Answer:
    """The documented answer for a failed gateway call (DESIGN.md table)."""
    if isinstance(exc, IdentityTokenError):
        return error(exc.code, 401, NO_REFERRER)
    if isinstance(exc, LimitExceeded):
        retry = str(exc.retry_after or 60)
        return error("LimitExceeded", 503, [("retry-after", retry), *NO_REFERRER])
    if isinstance(exc, CredentialError):
        # Waiting will not fix refused credentials: no Retry-After. The
        # client already logged the one ERROR line for this call.
        return error("GatewayMisconfigured", 503, NO_REFERRER)
    if isinstance(exc, GatewayUnavailable | GatewayError):
        retry = str(getattr(exc, "retry_after", None) or 5)
        return error("GatewayUnavailable", 503, [("retry-after", retry), *NO_REFERRER])
    raise exc
