"""Who a person is: the gateway's ``Identity`` and the request's ``User``.

``Identity`` is parsed strictly from the account answer of the gateway
(gateway-contract.md, call 2). ``User`` is what a request sees once a
session exists; it carries no token of any kind. Both users follow
Starlette's ``BaseUser`` interface so ``request.user`` works unchanged.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from starlette.authentication import BaseUser

from .errors import GatewayUnavailable

__all__ = ["ANONYMOUS", "AnonymousUser", "Identity", "User"]

_TIME_FIELDS = {
    "expire": "expire",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """What the gateway said about one identity token.

    ``id`` echoes the identity token itself, so it is masked in the repr
    and never written to a cookie, an answer or a log.
    """

    id: str = dataclasses.field(repr=False)
    uid: str
    name: str
    expire: datetime
    created_at: datetime
    updated_at: datetime

    def __repr__(self) -> str:
        return (
            f"Identity(id='***', uid={self.uid!r}, name={self.name!r}, "
            f"expire={self.expire.isoformat()!r})"
        )

    @classmethod
    def from_gateway(cls, data: object) -> Identity:
        """Parse the account answer; any missing or odd field is a gateway fault.

        Raises :class:`GatewayUnavailable`, never ``KeyError`` or ``TypeError``.
        """
        if not isinstance(data, dict):
            raise GatewayUnavailable("account answer is not a JSON object")
        for key in ("id", "uid", "name"):
            if not isinstance(data.get(key), str) or not data[key]:
                raise GatewayUnavailable(f"account answer has no valid {key!r}")

        times = {
            attr: _parse_time(data.get(key), key) for key, attr in _TIME_FIELDS.items()
        }
        return cls(id=data["id"], uid=data["uid"], name=data["name"], **times)

    def to_json(self) -> dict[str, str]:
        """The gateway's own JSON form, for caches that store identities."""
        return {
            "id": self.id,
            "uid": self.uid,
            "name": self.name,
            "expire": _format_time(self.expire),
            "createdAt": _format_time(self.created_at),
            "updatedAt": _format_time(self.updated_at),
        }


def _parse_time(value: object, key: str) -> datetime:
    # The contract's times are ISO 8601 in UTC with milliseconds and a "Z";
    # fromisoformat reads that form on Python 3.11 and later.
    if not isinstance(value, str):
        raise GatewayUnavailable(f"account answer has no valid {key!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise GatewayUnavailable(f"account answer has a malformed {key!r}") from None
    if parsed.tzinfo is None:
        raise GatewayUnavailable(f"account answer has a {key!r} without a zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 lies before year 1
        raise GatewayUnavailable(f"account answer has a malformed {key!r}") from None


def _format_time(value: datetime) -> str:
    return (
        value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class User(BaseUser):
    """The person a request belongs to, read from a verified session.

    :param uid: the person's id in the customer's directory.
    :param name: the person's name, as the gateway gave it at login.
    :param login_at: when the session was issued (aware, UTC).
    :param session_expires: when the session ends, whatever happens (UTC).
    """

    __slots__ = ("login_at", "name", "session_expires", "session_id", "uid")

    def __init__(
        self,
        uid: str,
        name: str,
        login_at: datetime,
        session_expires: datetime,
        session_id: str = "",
    ) -> None:
        self.uid = uid
        self.name = name
        self.login_at = login_at
        self.session_expires = session_expires
        #: A random id naming this session, used to revoke it at logout.
        self.session_id = session_id

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def identity(self) -> str:
        return self.uid

    def to_json(self) -> dict[str, Any]:
        """The JSON user of ``/me`` and ``/login`` answers."""
        return {
            "uid": self.uid,
            "name": self.name,
            "session_expires": self.session_expires.isoformat(),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return (self.uid, self.session_id) == (other.uid, other.session_id)

    def __hash__(self) -> int:
        return hash((self.uid, self.session_id))

    def __repr__(self) -> str:
        return f"User(uid={self.uid!r}, name={self.name!r})"


class AnonymousUser(BaseUser):
    """The user of a request without a valid session.

    ``uid`` and ``name`` are empty strings, so code and templates can read
    them from whichever user a request has.
    """

    __slots__ = ()

    uid = ""
    name = ""

    @property
    def is_authenticated(self) -> bool:
        return False

    @property
    def display_name(self) -> str:
        return ""

    @property
    def identity(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "AnonymousUser()"


#: The one anonymous user every request without a session shares.
ANONYMOUS = AnonymousUser()
