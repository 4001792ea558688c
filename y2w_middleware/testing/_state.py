"""What the fake gateway knows, and how it answers the contract's two calls.

Plain state and the decisions that read it, with no locking, routing or
faults: ``FakeGateway`` holds its lock around every use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from urllib.parse import parse_qs

from ._contract import Reply, error_reply, iso_millis, json_reply, new_token

__all__ = [
    "EXPIRED",
    "GatewayState",
    "Person",
]

#: A time in the past of any clock: what "expired" is set to.
EXPIRED = -math.inf


@dataclasses.dataclass(frozen=True)
class Person:
    """What face recognition established, behind one identity token."""

    uid: str
    name: str
    created_at: float
    expires_at: float


@dataclasses.dataclass(repr=False)
class GatewayState:
    """The application's credentials and standing, and the tokens issued."""

    appid: str
    secret: str
    token_ttl: int
    clock: Callable[[], float]
    offset: float = 0.0
    #: access token -> when it expires
    access_tokens: dict[str, float] = dataclasses.field(default_factory=dict)
    #: identity token -> the person it names
    people: dict[str, Person] = dataclasses.field(default_factory=dict)
    disabled: bool = False
    secret_error: bool = False
    #: successful calls left; None is unlimited
    quota: int | None = None

    def now(self) -> float:
        """The gateway's time: the clock, moved on by ``offset``."""
        return self.clock() + self.offset

    def grant_access_token(self) -> str:
        """Issue and remember a fresh access token."""
        token = new_token()
        self.access_tokens[token] = self.now() + self.token_ttl
        return token

    def token(self, query: str) -> Reply:
        """Call 1: ``GET /v1/token?grant_type=...&appid=...&secret=...``."""
        params = parse_qs(query, keep_blank_values=True)
        given = {name: values[0] for name, values in params.items()}
        if (
            given.get("grant_type") != "client_credential"
            or given.get("appid") != self.appid
            or given.get("secret") != self.secret
        ):
            return error_reply("SecretIsInvalid")

        refusal = self._refusal()
        if refusal is not None:
            return refusal

        token = self.grant_access_token()
        self._spend()
        return json_reply(200, {"accessToken": token, "expires": self.token_ttl})

    def account(self, identity_token: str, authorization: str) -> Reply:
        """Call 2: ``GET /api/face-login/account/<identityToken>``."""
        scheme, _, credentials = authorization.strip().partition(" ")
        access_token = credentials.strip()
        if scheme.lower() != "bearer" or not access_token:
            return error_reply("AccessTokenNoExist")
        if access_token not in self.access_tokens:
            return error_reply("AccessTokenIsInvalid")
        if self.now() >= self.access_tokens[access_token]:
            return error_reply("AccessTokenHasExpired")

        refusal = self._refusal()
        if refusal is not None:
            return refusal

        person = self.people.get(identity_token)
        if person is None:
            return error_reply("Identity_Token_Invalid")
        if self.now() >= person.expires_at:
            return error_reply("Identity_Token_In_Expire")

        self._spend()
        # The vendor's example shows updatedAt equal to createdAt, and the
        # fake never updates a person.
        created = iso_millis(person.created_at)
        payload: dict[str, object] = {
            "id": identity_token,
            "uid": person.uid,
            "name": person.name,
            "expire": iso_millis(person.expires_at),
            "createdAt": created,
            "updatedAt": created,
        }
        return json_reply(200, payload)

    def _refusal(self) -> Reply | None:
        """The application's own refusals, the same on both endpoints."""
        if self.disabled:
            return error_reply("SecretHasDisabled")
        if self.secret_error:
            return error_reply("SecretError")
        if self.quota is not None and self.quota <= 0:
            return error_reply("LimitExceeded")
        return None

    def _spend(self) -> None:
        # Only successful calls count against the quota.
        if self.quota is not None:
            self.quota -= 1
