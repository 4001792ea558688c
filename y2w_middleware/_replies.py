"""The gateway's answers, read: capped, parsed, or turned into exceptions.

A runner streams an answer's body through a :class:`BodyReader`, which
stops past :data:`MAX_BODY` bytes, and hands the flow a :class:`Reply`
(or a :class:`Failure` when httpx2 raised). :func:`parse_token` and
:func:`parse_account` then read it into an ``AccessToken`` or an
``Identity``, or raise what it means.

A 200 must be the documented JSON object; 401, 403 and 500 with an
``error`` code raise that code's ``GatewayError`` subclass (a plain
``GatewayError`` for codes the contract does not name). Everything else, a
redirect (never followed), an undocumented status, a body over 64 KiB, or
one that is not JSON, is ``GatewayUnavailable``. The contract prints its
500 bodies as JavaScript literals (``{ error: 'Identity_Token_Invalid' }``);
such a body is read leniently, for the two identity-token codes only.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any

from ._calls import ACCOUNT_TEMPLATE, TOKEN_PATH
from ._identity import Identity
from ._token import AccessToken
from .errors import GatewayError, GatewayUnavailable, gateway_error

__all__ = [
    "MAX_BODY",
    "BodyReader",
    "Failure",
    "Reply",
    "parse_account",
    "parse_token",
]

#: The largest answer read: both documented answers are well under 1 KiB.
MAX_BODY = 64 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """An answer as read off the wire, its body capped at :data:`MAX_BODY`."""

    status: int
    body: bytes = dataclasses.field(repr=False)
    elapsed_ms: float
    oversized: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """No usable answer: httpx2 raised ``error`` (network, timeout, protocol)."""

    error: Exception
    elapsed_ms: float

    @classmethod
    def since(cls, error: Exception, started: float) -> Failure:
        """The failure of a call started at ``started`` (``perf_counter``)."""
        return cls(error, _elapsed_ms(started))


class BodyReader:
    """Collects an answer's body and stops past :data:`MAX_BODY` bytes.

    A runner feeds it chunks while :meth:`feed` returns True, then calls
    :meth:`answer`. A ``Content-Length`` over the cap stops it before the
    first chunk.
    """

    def __init__(self, status: int, content_length: str | None, started: float) -> None:
        self.status = status
        self._started = started
        self._chunks: list[bytes] = []
        self._size = 0
        self.oversized = _declared_length(content_length) > MAX_BODY

    @property
    def wants_more(self) -> bool:
        """False once the body is known to be too large."""
        return not self.oversized

    def feed(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False when the cap is passed and reading must stop."""
        self._size += len(chunk)
        if self._size > MAX_BODY:
            self.oversized = True
            self._chunks.clear()
            return False
        self._chunks.append(chunk)
        return True

    def answer(self) -> Reply:
        """The answer read so far."""
        body = b"".join(self._chunks)
        return Reply(self.status, body, _elapsed_ms(self._started), self.oversized)


def parse_token(answer: Reply, sensitive: tuple[str, ...] = ()) -> AccessToken:
    """Call 1's answer as an :class:`AccessToken`, or raise what it means."""
    data = _read(answer, TOKEN_PATH, sensitive)
    value, lifetime = data.get("accessToken"), data.get("expires")

    if not isinstance(value, str) or not _ACCESS_TOKEN_SHAPE.fullmatch(value):
        raise GatewayUnavailable("token answer has no valid 'accessToken'", status=200)
    # bool is an int in Python; a lifetime of True seconds is still malformed.
    if type(lifetime) is not int or lifetime <= 0:
        raise GatewayUnavailable("token answer has no valid 'expires'", status=200)
    return AccessToken.issued(value, lifetime)


def parse_account(answer: Reply, sensitive: tuple[str, ...] = ()) -> Identity:
    """Call 2's answer as an :class:`Identity`, or raise what it means."""
    return Identity.from_gateway(_read(answer, ACCOUNT_TEMPLATE, sensitive))


#: Access tokens travel in a header: visible ASCII only, and not too long.
_ACCESS_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,1024}")
#: Vendor codes look like ``SecretIsInvalid`` or ``Identity_Token_In_Expire``.
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_]{1,64}")
#: The statuses with documented error bodies (401 and 500 only on call 2,
#: but a code is a code: it is reported whichever call it came from).
_ERROR_STATUSES = frozenset({401, 403, 500})
#: The contract prints 500 bodies as JavaScript object literals, e.g.
#: ``{ status: 500, error: 'Identity_Token_Invalid', message: '...' }``.
_JS_FIELD = re.compile(r"""\b(error|message)\s*:\s*(['"])(.*?)\2""")
_JS_CODES = frozenset({"Identity_Token_Invalid", "Identity_Token_In_Expire"})


def _read(answer: Reply, template: str, sensitive: tuple[str, ...]) -> dict[str, Any]:
    status = answer.status
    if answer.oversized:
        raise GatewayUnavailable(
            f"{template} answer is larger than {MAX_BODY // 1024} KiB", status=status
        )
    if 300 <= status < 400:
        raise GatewayUnavailable(
            f"{template} answered a redirect (HTTP {status}), which is not followed",
            status=status,
        )
    if status in _ERROR_STATUSES:
        raise _error_from(answer, template, sensitive)
    if status != 200:
        raise GatewayUnavailable(
            f"{template} answered an undocumented HTTP {status}", status=status
        )

    data = _json(answer.body)
    if not isinstance(data, dict):
        raise GatewayUnavailable(f"{template} answer is not a JSON object", status=200)
    return data


def _error_from(
    answer: Reply, template: str, sensitive: tuple[str, ...]
) -> GatewayError | GatewayUnavailable:
    data = _json(answer.body)
    if not isinstance(data, dict) and answer.status == 500:
        # The vendor's document shows 500 bodies with unquoted keys. Only
        # the two identity-token codes are recognised in that form, so a
        # proxy's error page never passes for a gateway verdict.
        fields = {m[1]: m[3] for m in _JS_FIELD.finditer(_text(answer.body))}
        if fields.get("error") in _JS_CODES:
            data = fields

    code = data.get("error") if isinstance(data, dict) else None
    if not isinstance(code, str) or not _CODE_SHAPE.fullmatch(code):
        return GatewayUnavailable(
            f"{template} answered HTTP {answer.status} without a valid error body",
            status=answer.status,
        )
    assert isinstance(data, dict)  # for mypy: a code was found in it
    message = data.get("message")
    text = _clean(message if isinstance(message, str) else "", sensitive)
    return gateway_error(code, answer.status, text)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and bytes that are not UTF-8.
        return None


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _clean(message: str, sensitive: tuple[str, ...]) -> str:
    # The vendor's message ends up in exception messages and logs: keep it
    # short, printable, and free of anything this call must not reveal.
    for value in sensitive:
        if value:
            message = message.replace(value, "[secure]")
    message = "".join(c if c.isprintable() else " " for c in message)
    return message[:200]


def _declared_length(content_length: str | None) -> int:
    if content_length is None or not content_length.strip().isdigit():
        return 0
    return int(content_length)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
