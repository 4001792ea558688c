"""The words the core and the adapters speak: effects, requests, outcomes.

The core's decisions are generators (``Flow``). They yield an *effect*
when they need the outside world and receive its result, or the exception
it raised; they return an ``Answer`` (the middleware answers itself) or a
``Proceed`` (call the app with this user). The ASGI adapter performs the
effects with ``await``, the WSGI adapter with plain calls.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote_plus

from starlette.authentication import BaseUser

from ._answers import Answer, Headers
from ._identity import ANONYMOUS, Identity
from .errors import Y2WError

__all__ = [
    "ANONYMOUS",
    "Effect",
    "FetchAccessToken",
    "Flow",
    "IsRevoked",
    "LoadUser",
    "Proceed",
    "ReadBody",
    "RequestView",
    "Resolve",
    "Revoke",
    "Step",
    "advance",
]

# -- what a flow asks of the outside world ---------------------------------


@dataclass(frozen=True, slots=True)
class ReadBody:
    """Read the request body, at most ``limit`` bytes (else ``None``)."""

    limit: int


@dataclass(frozen=True, slots=True)
class Resolve:
    """Ask the gateway who an identity token belongs to."""

    token: str

    def __repr__(self) -> str:
        return "Resolve(token='***')"


@dataclass(frozen=True, slots=True)
class LoadUser:
    """Call the app's ``user_loader``; answers its result (None: unknown)."""

    identity: Identity


@dataclass(frozen=True, slots=True)
class IsRevoked:
    """Whether a session id was revoked at logout."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Revoke:
    """Revoke a session id for ``ttl`` seconds (its remaining life)."""

    session_id: str
    ttl: float


@dataclass(frozen=True, slots=True)
class FetchAccessToken:
    """Get the (cached) access token for the front-end face component."""


Effect: TypeAlias = (
    ReadBody | Resolve | LoadUser | IsRevoked | Revoke | FetchAccessToken
)
Flow: TypeAlias = Generator[Effect, Any, "Answer | Proceed"]
#: What a flow hands its driver: the next effect, or its outcome.
Step: TypeAlias = "Effect | Answer | Proceed"


# -- what goes in and what comes out ---------------------------------------


@dataclass(slots=True)
class RequestView:
    """The parts of a request the core looks at.

    ``headers`` has lower-case names; a repeated header is joined with
    ``", "`` except ``cookie``, joined with ``"; "``.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]

    @property
    def url(self) -> str:
        """The path and query, as a relative URL."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def query_value(self, name: str) -> str | None:
        """The first value of query parameter *name*, decoded."""
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None

    def url_without(self, name: str) -> str:
        """The relative URL without query parameter *name*.

        Every other parameter is kept byte for byte: only that one goes.
        """
        kept = [
            part
            for part in self.query.split("&")
            if part and unquote_plus(part.split("=", 1)[0]) != name
        ]
        return self.path + ("?" + "&".join(kept) if kept else "")


@dataclass(slots=True)
class Proceed:
    """Call the app with ``user``; add ``headers`` to its answer.

    ``query``, when set, replaces the query string the app sees: the
    identity token is taken out, so it never reaches the app's own logs.
    """

    user: BaseUser
    headers: Headers
    query: str | None = None


def advance(flow: Flow, result: Any, failure: Y2WError | None) -> Step:
    """Resume *flow* with an effect's result, or the error it raised.

    Answers the flow's next effect, or its outcome once it has finished:
    the one piece of driving that the sync and async adapters share.
    """
    try:
        return flow.send(result) if failure is None else flow.throw(failure)
    except StopIteration as stop:
        outcome: Answer | Proceed = stop.value
        return outcome
