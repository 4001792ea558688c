"""Misbehaviour on demand: the faults a FakeGateway can be told to inject.

A real gateway sits behind proxies and networks that fail in ways the
contract never mentions. A client must survive them, so the fake can play
them back: each injected fault answers a number of requests in place of the
gateway, then lets the contract speak again.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal

from ._contract import JSON_TYPE, Reply

__all__ = [
    "Endpoint",
    "Fault",
    "Injection",
    "Target",
    "fault_reply",
    "take",
]

#: The two endpoints of the contract, as the fake names them.
Endpoint = Literal["token", "account"]

#: Where a fault applies: one endpoint, or both.
Target = Literal["any", "token", "account"]


class Fault(enum.Enum):
    """A way for the gateway, or what stands in front of it, to misbehave."""

    #: A proxy answers 502 with an HTML error page instead of JSON.
    HTML_502 = "html_502"
    #: 200 with a ``text/plain`` body that is not JSON at all.
    NON_JSON = "non_json"
    #: The 500 body as the vendor's document prints it: a JavaScript object
    #: literal with unquoted keys and single quotes, labelled as JSON.
    JS_LITERAL_500 = "js_literal_500"
    #: The normal answer, sent ``seconds`` late (to outlast a client timeout).
    DELAY = "delay"


_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    b"<body>\r\n<h1>502 Bad Gateway</h1>\r\n</body>\r\n</html>\r\n"
)

_JS_LITERAL_500 = (
    "{ status: 500, error: 'Identity_Token_Invalid', message: 'identityToken无效' }"
).encode()


def fault_reply(fault: Fault) -> Reply:
    """The canned answer of ``fault``; DELAY has none of its own."""
    if fault is Fault.HTML_502:
        return Reply(502, (("Content-Type", "text/html"),), _HTML_502)
    if fault is Fault.NON_JSON:
        body = b"gateway is fine, thanks for asking\n"
        return Reply(200, (("Content-Type", "text/plain; charset=utf-8"),), body)
    if fault is Fault.JS_LITERAL_500:
        return Reply(500, (("Content-Type", JSON_TYPE),), _JS_LITERAL_500)
    raise ValueError(f"{fault} has no canned answer")


@dataclasses.dataclass
class Injection:
    """One injected fault and how many more requests it will answer."""

    fault: Fault
    target: Target
    remaining: int | None
    seconds: float

    def matches(self, endpoint: Endpoint) -> bool:
        """Whether this fault answers a request to ``endpoint``."""
        return self.target in ("any", endpoint)


def take(plan: list[Injection], endpoint: Endpoint) -> Injection | None:
    """Use up one turn of the first fault aimed at ``endpoint``, if any.

    Faults act in the order they were injected, one per request, so a test
    can script a sequence such as "two 502s, then a slow answer".
    """
    for injection in plan:
        if not injection.matches(endpoint):
            continue

        if injection.remaining is not None:
            injection.remaining -= 1
            if injection.remaining == 0:
                plan.remove(injection)
        return injection
    return None
