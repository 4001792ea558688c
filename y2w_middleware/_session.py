"""Signed cookies: the login session and the identity waiting to be bound.

Both are itsdangerous signatures (HMAC-SHA256) over a compact JSON list,
each with a salt of its own so one can never be replayed as the other.
Keys rotate the itsdangerous way: the session secret signs, and it and the
fallbacks all verify, newest first.

The session holds only what later requests need: uid, name, a random
session id (for revocation at logout), the login time and the absolute
expiry. No token of any kind is ever written into a cookie.

Verifying a signature costs more than the whole hot-path budget, so a
bounded map from cookie value to the ``User`` it verified as is kept: only
the exact string that passed verification finds an entry, and expiry is
still checked against the clock on every request.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

from ._cookies import MAX_COOKIE_SIZE
from ._identity import Identity, User
from ._settings import Settings
from .errors import GatewayUnavailable

__all__ = ["PendingCodec", "SessionCodec"]

logger = logging.getLogger("y2w_middleware")

#: Payload layout version: a cookie of another layout is not ours to read.
_VERSION = 1
#: Tolerated clock difference between the processes of a fleet (seconds);
#: a cookie issued further in the future than this was not issued by us.
_CLOCK_SKEW = 60
#: How many verified cookies one process remembers.
_CACHE_SIZE = 8192


def _serializer(settings: Settings, salt: str) -> URLSafeSerializer:
    # itsdangerous signs with the last key and verifies with all of them.
    keys = [key.reveal() for key in settings.session_secret_fallbacks]
    keys.append(settings.session_secret.reveal())
    return URLSafeSerializer(
        keys,
        salt=salt,
        signer_kwargs={"digest_method": hashlib.sha256},
        serializer_kwargs={"separators": (",", ":"), "ensure_ascii": False},
    )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class SessionCodec:
    """Issues and verifies session cookie values for one ``Settings``."""

    def __init__(
        self, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._serializer = _serializer(settings, "y2w_middleware.session")
        self._max_age = settings.session_max_age
        self._clock = clock
        self._verified: dict[str, tuple[User, float]] = {}

    def now(self) -> float:
        """The current time, by this codec's clock."""
        return self._clock()

    def issue(self, uid: str, name: str) -> tuple[str, User]:
        """Sign a new session for a person; return the cookie value and user."""
        now = int(self._clock())
        expires = now + self._max_age
        session_id = secrets.token_urlsafe(16)
        value = self._serializer.dumps([_VERSION, uid, name, session_id, now, expires])

        user = User(uid, name, _utc(now), _utc(expires), session_id)
        self._remember(value, user, expires)
        return value, user

    def read(self, value: str) -> User | None:
        """The user a cookie value stands for, or None if it is not valid now."""
        # The cache first: an oversized value is never remembered, so the
        # size check can wait for a miss.
        now = self._clock()
        cached = self._verified.get(value)
        if cached is not None:
            if now < cached[1]:
                return cached[0]
            # pop, not del: another thread may have dropped it already.
            self._verified.pop(value, None)
            logger.debug("session cookie refused: expired")
            return None

        if len(value) > MAX_COOKIE_SIZE:
            logger.debug("session cookie refused: oversized")
            return None
        user_and_expiry = self._verify(value, now)
        if user_and_expiry is None:
            return None
        self._remember(value, *user_and_expiry)
        return user_and_expiry[0]

    def _verify(self, value: str, now: float) -> tuple[User, float] | None:
        try:
            payload = self._serializer.loads(value)
        except BadSignature:
            logger.debug("session cookie refused: bad signature")
            return None

        fields = _session_fields(payload)
        if fields is None:
            logger.debug("session cookie refused: unknown layout")
            return None
        uid, name, session_id, login_at, expires = fields

        # The expiry is absolute from the login time: a lowered max age
        # also shortens sessions issued before the change.
        expires = min(expires, login_at + self._max_age)
        if login_at > now + _CLOCK_SKEW:
            logger.debug("session cookie refused: issued in the future")
            return None
        if now >= expires:
            logger.debug("session cookie refused: expired")
            return None
        return User(uid, name, _utc(login_at), _utc(expires), session_id), expires

    def _remember(self, value: str, user: User, expires: float) -> None:
        if len(value) > MAX_COOKIE_SIZE:
            return  # read() refuses it anyway; do not let it take a slot
        # Drop the oldest entries (dicts keep insertion order). Threads may
        # race here; a loop, not a single pop, brings a cache that a lost
        # race left over the cap back under it.
        while len(self._verified) >= _CACHE_SIZE:
            try:
                self._verified.pop(next(iter(self._verified)), None)
            except (StopIteration, RuntimeError):
                break
        self._verified[value] = (user, expires)


def _session_fields(payload: object) -> tuple[str, str, str, int, int] | None:
    if not (isinstance(payload, list) and len(payload) == 6):
        return None
    version, uid, name, session_id, login_at, expires = payload
    if version != _VERSION:
        return None
    if not all(isinstance(item, str) for item in (uid, name, session_id)):
        return None
    if not all(type(item) is int for item in (login_at, expires)):
        return None
    return uid, name, session_id, login_at, expires


class PendingCodec:
    """Carries a verified identity to the bind page in a short-lived cookie.

    The identity's ``id`` is the identity token itself, so it stays out of
    the cookie: the identity read back has an empty ``id``.
    """

    def __init__(
        self, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._serializer = _serializer(settings, "y2w_middleware.pending")
        self.max_age = settings.pending_max_age
        self._clock = clock

    def issue(self, identity: Identity) -> str:
        """Sign *identity* (without its token) for the bind page."""
        data = identity.to_json()
        expires = int(self._clock()) + self.max_age
        fields = [data["uid"], data["name"], data["expire"], data["createdAt"]]
        return self._serializer.dumps([_VERSION, *fields, data["updatedAt"], expires])

    def read(self, value: str | None) -> Identity | None:
        """The identity in a pending cookie value, or None if not valid now."""
        if not value or len(value) > MAX_COOKIE_SIZE:
            return None
        try:
            payload = self._serializer.loads(value)
        except BadSignature:
            logger.debug("pending identity cookie refused: bad signature")
            return None

        if not (isinstance(payload, list) and len(payload) == 7):
            return None
        version, uid, name, expire, created, updated, expires = payload
        if version != _VERSION or type(expires) is not int:
            return None
        if self._clock() >= expires:
            logger.debug("pending identity cookie refused: expired")
            return None
        try:
            identity = Identity.from_gateway(
                {
                    "id": "-",
                    "uid": uid,
                    "name": name,
                    "expire": expire,
                    "createdAt": created,
                    "updatedAt": updated,
                }
            )
        except GatewayUnavailable:
            # Signed by us yet unreadable: a layout from another version.
            return None
        return dataclasses.replace(identity, id="")
