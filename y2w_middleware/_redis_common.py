"""What the sync and async Redis stores share: keys, scripts, encodings.

The ``redis`` package is an optional extra: :func:`import_redis` imports it
only when a Redis store is built, and says how to install it when it is
missing. :func:`redis_errors` turns any Redis failure into
``StoreUnavailable``, so that logins and revocation checks fail closed
rather than guess.

Keys are namespaced by gateway and appid (:class:`Keys`), so two
applications may share a Redis. Identities are keyed by a SHA-256 of the
identity token, and Redis holds them without their ``id`` (the token
itself): the caller, who has the token, puts it back.

Revocation in a fleet: a process caches "not revoked" answers for at most
:data:`REVOCATION_CACHE_SECONDS` (:class:`RevocationCache`), so a logout
reaches the other processes within one second; in the process that
revoked, it takes effect at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._cache import Deadlines, identity_key
from ._identity import Identity
from ._settings import Settings
from ._token import AccessToken
from .errors import ConfigError, GatewayUnavailable, StoreUnavailable

__all__ = [
    "DROP_SCRIPT",
    "RELEASE_SCRIPT",
    "REVOCATION_CACHE_SECONDS",
    "Keys",
    "RevocationCache",
    "identity_from",
    "identity_json",
    "import_redis",
    "masked",
    "millis",
    "millis_until",
    "redis_errors",
    "revoked_until",
    "token_from",
    "token_json",
]

#: How long a Redis store trusts a "not revoked" answer it read before.
REVOCATION_CACHE_SECONDS = 1.0

# Delete the key only when it still holds what the caller saw; both scripts
# keep compare-and-delete atomic against other processes.
DROP_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['value'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Keys:
    """The Redis keys of one application, under one prefix."""

    def __init__(self, settings: Settings) -> None:
        # Hash of gateway and appid: apps sharing a Redis never mix tokens,
        # and the appid does not show in key listings.
        scope = f"{settings.gateway_url} {settings.appid}".encode()
        self.prefix = "y2w:" + hashlib.sha256(scope).hexdigest()[:16] + ":"
        self.token = self.prefix + "token"
        self.token_lock = self.prefix + "token-lock"
        self.backoff = self.prefix + "backoff"

    def identity(self, identity_token: str) -> str:
        """The key of the identity cached for ``identity_token``."""
        return self.prefix + "identity:" + identity_key(identity_token)

    def revoked(self, session_id: str) -> str:
        """The key marking ``session_id`` as revoked."""
        return self.prefix + "revoked:" + session_id


class RevocationCache:
    """This process's memory of revocation answers read from Redis.

    Revoked sessions are remembered until they run out (they never come
    back); "not revoked" for :data:`REVOCATION_CACHE_SECONDS` only.
    """

    def __init__(self, max_size: int = 100_000) -> None:
        self._revoked = Deadlines(max_size)
        self._clear = Deadlines(max_size, clock=time.monotonic)

    def lookup(self, session_id: str) -> bool | None:
        """True or False when known here, None when Redis must be asked."""
        if session_id in self._revoked:
            return True
        if session_id in self._clear:
            return False
        return None

    def remember(self, session_id: str, revoked_until: float | None) -> None:
        """Note Redis's answer: revoked until a time, or not revoked (None)."""
        if revoked_until is None:
            self._clear.add(session_id, REVOCATION_CACHE_SECONDS)
            return
        self._clear.discard(session_id)
        self._revoked.add(session_id, revoked_until - time.time())


def import_redis() -> Any:
    """The ``redis`` package, or a ``ConfigError`` saying how to install it."""
    try:
        import redis
    except ImportError:
        raise ConfigError(
            [
                "Y2W_REDIS_URL (redis_url) is set but the redis package is not "
                "installed: pip install 'y2w-middleware[redis]'"
            ]
        ) from None
    return redis


@contextlib.contextmanager
def redis_errors() -> Iterator[None]:
    """Turn a Redis failure inside the block into ``StoreUnavailable``."""
    redis = import_redis()
    try:
        yield
    except redis.RedisError as exc:
        # The class name only: messages may name hosts, never worth the risk.
        raise StoreUnavailable(
            f"token store (Redis) failed: {type(exc).__name__}"
        ) from exc


def token_json(token: AccessToken) -> str:
    """``token`` as the JSON text stored under the token key."""
    data = {
        "value": token.value,
        "lifetime": token.lifetime,
        "expires_at": token.expires_at,
    }
    return json.dumps(data)


def token_from(raw: bytes | str | None) -> AccessToken | None:
    """The token stored as ``raw``; None when absent or unreadable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return AccessToken(
            value=str(data["value"]),
            lifetime=int(data["lifetime"]),
            expires_at=float(data["expires_at"]),
        )
    except (ValueError, KeyError, TypeError):
        return None  # a foreign or damaged entry: fetch a new token instead


def identity_json(identity: Identity) -> str:
    """``identity`` as stored: JSON, without its ``id``."""
    data = identity.to_json()
    del data["id"]  # the identity token itself stays out of Redis
    return json.dumps(data, ensure_ascii=False)


def identity_from(raw: bytes | str | None, identity_token: str) -> Identity | None:
    """The identity stored as ``raw``, its ``id`` put back; None if unusable."""
    if raw is None:
        return None
    try:
        return Identity.from_gateway({**json.loads(raw), "id": identity_token})
    except (ValueError, TypeError, GatewayUnavailable):
        return None


def revoked_until(raw: bytes | str | None) -> float | None:
    """When a revocation stored as ``raw`` runs out; None when not revoked."""
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        # Not ours to read, but present: fail closed, and ask again soon.
        return time.time() + REVOCATION_CACHE_SECONDS


def millis(seconds: float) -> int:
    """``seconds`` as a Redis ``PX`` value."""
    # Redis refuses PX 0: anything positive lasts at least a millisecond.
    return max(1, int(seconds * 1000))


def millis_until(moment: float) -> int:
    """Milliseconds from now until ``moment`` (negative once it has passed)."""
    return int((moment - time.time()) * 1000)


def masked(url: str) -> str:
    """``url`` with its password, if any, hidden."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))
