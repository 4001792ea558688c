"""Shared pieces of the gateway client, gateway and store tests.

Settings that point at a fake gateway, hand-written gateway answers for
the cases the fake cannot play (redirects, oversized bodies, two refusals
in a row), and a runner that drives a flow of ``_gateway`` without I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from y2w_middleware import Settings
from y2w_middleware._effects import Exclusive, Flow, Send, Sleep, StoreCall
from y2w_middleware._replies import Reply
from y2w_middleware.testing import FakeGateway

__all__ = [
    "SESSION_SECRET",
    "UNROUTED_URL",
    "EndlessBody",
    "Scripted",
    "account_body",
    "answer",
    "drive",
    "error_body",
    "settings_for",
    "token_body",
]

#: A base URL only a transport answers; nothing resolves it.
UNROUTED_URL = "http://gateway.test"
SESSION_SECRET = "a-session-secret-long-enough"


def settings_for(
    gateway: FakeGateway, url: str = UNROUTED_URL, **overrides: Any
) -> Settings:
    """Settings holding ``gateway``'s credentials, pointing at ``url``."""
    values: dict[str, Any] = {
        "appid": gateway.appid,
        "secret": gateway.secret,
        "session_secret": SESSION_SECRET,
        "gateway_url": url,
    }
    return Settings(**{**values, **overrides})


def token_body(token: str = "a447bdDAUeKORvmt", expires: int = 7200) -> bytes:
    """Call 1's success body."""
    return json.dumps({"accessToken": token, "expires": expires}).encode()


def account_body(identity_token: str, ttl: float = 300, uid: str = "f3292423") -> bytes:
    """Call 2's success body for ``identity_token``, valid ``ttl`` seconds more."""
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    expire = (now + timedelta(seconds=ttl)).isoformat(timespec="milliseconds")
    payload = {
        "id": identity_token,
        "uid": uid,
        "name": "张德强",
        "expire": expire.replace("+00:00", "Z"),
        "createdAt": stamp,
        "updatedAt": stamp,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def error_body(code: str, status: int, message: str = "msg") -> bytes:
    """A documented failure body."""
    payload = {"status": status, "error": code, "message": message}
    return json.dumps(payload, ensure_ascii=False).encode()


def answer(status: int, body: bytes = b"") -> Reply:
    """An :class:`Reply` as a runner would hand it to a flow."""
    return Reply(status, body, elapsed_ms=1.0)


class Scripted:
    """A transport that plays a list of answers and records the requests.

    Each entry is ``(status, body)``, ``(status, body, headers)``, or an
    exception to raise; ``transport()`` serves sync and async clients.
    """

    def __init__(self, *script: tuple[Any, ...] | Exception) -> None:
        self._script = list(script)
        self.requests: list[httpx2.Request] = []

    def _respond(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        step = self._script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, body, *rest = step
        headers = rest[0] if rest else {"Content-Type": "application/json"}
        if callable(body):
            return httpx2.Response(status, headers=headers, stream=body())
        return httpx2.Response(status, headers=headers, content=body)

    def transport(self) -> httpx2.MockTransport:
        """The transport to hand to a client."""
        return httpx2.MockTransport(self._respond)


class EndlessBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body that never ends, counting the chunks it gave away."""

    def __init__(self, chunk: bytes = b"x" * 4096) -> None:
        self.chunk = chunk
        self.given = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.given += 1
            yield self.chunk

    async def __aiter__(self) -> Any:
        while True:
            self.given += 1
            yield self.chunk


def drive(
    flow: Flow[Any],
    store: Any,
    answers: list[Any],
    sent: list[Send] | None = None,
    on_sleep: Callable[[float], None] | None = None,
) -> Any:
    """Run ``flow`` without I/O: sends get ``answers`` in order, store calls
    go to ``store``; requests are appended to ``sent``."""
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            effect = flow.send(reply) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value
        try:
            reply, error = _perform(effect, store, answers, sent, on_sleep), None
        except Exception as exc:
            reply, error = None, exc


def _perform(
    effect: Any,
    store: Any,
    answers: list[Any],
    sent: list[Send] | None,
    on_sleep: Callable[[float], None] | None,
) -> Any:
    if isinstance(effect, Send):
        if sent is not None:
            sent.append(effect)
        return answers.pop(0)
    if isinstance(effect, StoreCall):
        return getattr(store, effect.op)(*effect.args)
    if isinstance(effect, Sleep):
        if on_sleep is not None:
            on_sleep(effect.seconds)
        return None
    assert isinstance(effect, Exclusive)
    return drive(effect.flow, store, answers, sent, on_sleep)
