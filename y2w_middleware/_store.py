"""Where access tokens, identities, revocations and the quota back-off live.

Two flavours, chosen by :func:`open_store` / :func:`open_async_store`:

- :class:`MemoryStore`, the default: one process, bounded ``cachetools``
  caches behind a lock. It has sync methods only; async callers wrap it in
  :class:`AsyncMemoryStore` (``AsyncGatewayClient`` does that by itself when
  handed a ``MemoryStore``), so a sync and an async client may share one.
- :class:`RedisStore` and :class:`AsyncRedisStore`, when ``Y2W_REDIS_URL``
  is set: a fleet of processes shares one access token, the identity
  cache, the revocations and the back-off. The ``redis`` package is an
  optional extra, imported only here and only then.

Keys are namespaced by gateway and appid, so two applications may share a
Redis. Identities are keyed by a SHA-256 of the identity token, and Redis
holds them without their ``id`` (the token itself): the caller, who has the
token, puts it back.

Revocation in a fleet: a process caches "not revoked" answers for at most
:data:`REVOCATION_CACHE_SECONDS`, so a logout reaches the other processes
within one second; in the process that revoked, it takes effect at once.
A Redis failure raises :class:`StoreUnavailable`: logins and revocation
checks fail closed rather than guess.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import anyio
from cachetools import TLRUCache

from ._gateway import AccessToken
from ._identity import Identity
from ._settings import Settings
from .errors import ConfigError, GatewayUnavailable

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = [
    "REVOCATION_CACHE_SECONDS",
    "AsyncMemoryStore",
    "AsyncRedisStore",
    "AsyncTokenStore",
    "MemoryStore",
    "RedisStore",
    "StoreUnavailable",
    "TokenStore",
    "identity_key",
    "open_async_store",
    "open_store",
]

#: How long a Redis store trusts a "not revoked" answer it read before.
REVOCATION_CACHE_SECONDS = 1.0


class StoreUnavailable(GatewayUnavailable):
    """The shared store (Redis) could not be reached or gave a bad answer.

    A ``GatewayUnavailable``: a login cannot proceed and waiting may help.
    """


def identity_key(identity_token: str) -> str:
    """The cache key of an identity: a hash, never the raw token."""
    return hashlib.sha256(identity_token.encode()).hexdigest()


# -- the interface the gateway flows and the middleware use -------------------


class TokenStore(Protocol):
    """What a sync store offers; :class:`AsyncTokenStore` is its async twin."""

    @property
    def flight_lock(self) -> AbstractContextManager[Any]:
        """Held by the one caller in this process that fetches a token."""

    def get_token(self) -> AccessToken | None: ...
    def put_token(self, token: AccessToken) -> None: ...
    def drop_token(self, value: str) -> bool: ...
    def acquire_token_lock(self, owner: str, ttl: float) -> bool: ...
    def release_token_lock(self, owner: str) -> None: ...
    def get_identity(self, identity_token: str) -> Identity | None: ...
    def put_identity(self, identity_token: str, identity: Identity) -> None: ...
    def backoff_remaining(self) -> float: ...
    def set_backoff(self, seconds: float) -> None: ...
    def revoke(self, session_id: str, ttl: float) -> None: ...
    def is_revoked(self, session_id: str) -> bool: ...
    def close(self) -> None: ...


class AsyncTokenStore(Protocol):
    """The async twin of :class:`TokenStore`: the same methods, awaited."""

    @property
    def flight_lock(self) -> AbstractAsyncContextManager[Any]:
        """Held by the one task in this process that fetches a token."""

    async def get_token(self) -> AccessToken | None: ...
    async def put_token(self, token: AccessToken) -> None: ...
    async def drop_token(self, value: str) -> bool: ...
    async def acquire_token_lock(self, owner: str, ttl: float) -> bool: ...
    async def release_token_lock(self, owner: str) -> None: ...
    async def get_identity(self, identity_token: str) -> Identity | None: ...
    async def put_identity(self, identity_token: str, identity: Identity) -> None: ...
    async def backoff_remaining(self) -> float: ...
    async def set_backoff(self, seconds: float) -> None: ...
    async def revoke(self, session_id: str, ttl: float) -> None: ...
    async def is_revoked(self, session_id: str) -> bool: ...
    async def close(self) -> None: ...


def open_store(settings: Settings) -> TokenStore:
    """A :class:`RedisStore` when ``settings.redis_url`` is set, else memory."""
    if settings.redis_url:
        return RedisStore.from_settings(settings)
    return MemoryStore()


def open_async_store(settings: Settings) -> AsyncTokenStore:
    """An :class:`AsyncRedisStore` when ``settings.redis_url`` is set, else memory."""
    if settings.redis_url:
        return AsyncRedisStore.from_settings(settings)
    return AsyncMemoryStore()


# -- memory ---------------------------------------------------------------------


class _Deadlines:
    """A bounded map of keys to the times they stop counting.

    Built for the per-request revocation check: a read is one ``dict.get``
    and a clock read, without a lock (a single dict operation is atomic);
    only writers take the lock. When full, expired keys go first, then the
    oldest tenth of the rest.
    """

    def __init__(self, max_size: int, clock: Callable[[], float] = time.time) -> None:
        self._deadlines: dict[str, float] = {}
        self._max_size = max_size
        self._clock = clock
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        deadline = self._deadlines.get(key)
        return deadline is not None and self._clock() < deadline

    def add(self, key: str, seconds: float) -> None:
        """Count ``key`` for ``seconds`` from now (a later add wins)."""
        if seconds <= 0:
            self.discard(key)
            return
        with self._lock:
            # Re-inserted at the end, so insertion order stays oldest first.
            self._deadlines.pop(key, None)
            self._deadlines[key] = self._clock() + seconds
            if len(self._deadlines) > self._max_size:
                self._prune()

    def discard(self, key: str) -> None:
        """Stop counting ``key``."""
        with self._lock:
            self._deadlines.pop(key, None)

    def __len__(self) -> int:
        return len(self._deadlines)

    def _prune(self) -> None:
        now = self._clock()
        live = {key: t for key, t in self._deadlines.items() if t > now}
        excess = len(live) - self._max_size
        if excess > 0:
            # Evict a tenth at once, so that a full map is not re-scanned on
            # every add. Oldest first: they have the least life left to guard.
            oldest = list(live)[: excess + self._max_size // 10]
            for key in oldest:
                del live[key]
        self._deadlines = live


def _expires_at(_key: str, value: tuple[float, Any], _now: float) -> float:
    return value[0]


class MemoryStore:
    """The in-process store: bounded caches, safe to share between threads.

    :param max_identities: identities kept at most (least recently used go).
    :param max_revocations: revoked sessions kept at most. Past that, the
        oldest revocations are forgotten (expired ones first); a process
        that expects more logouts per session lifetime wants Redis.
    """

    def __init__(
        self, *, max_identities: int = 10_000, max_revocations: int = 100_000
    ) -> None:
        # cachetools caches are not thread-safe; one short lock guards all.
        self._lock = threading.Lock()
        self._flight_lock = threading.Lock()
        self._token: AccessToken | None = None
        self._backoff_until = 0.0
        # Entries are (expires at, value); wall-clock times, like the tokens'.
        self._identities: TLRUCache[str, tuple[float, Identity]] = TLRUCache(
            max_identities, _expires_at, timer=time.time
        )
        self._revoked = _Deadlines(max_revocations)

    @property
    def flight_lock(self) -> threading.Lock:
        """Held by the one thread that fetches a token for this process."""
        return self._flight_lock

    def get_token(self) -> AccessToken | None:
        """The stored access token, unless it has expired."""
        token = self._token
        if token is None or token.expires_at <= time.time():
            return None
        return token

    def put_token(self, token: AccessToken) -> None:
        """Store ``token`` in place of any other."""
        self._token = token

    def drop_token(self, value: str) -> bool:
        """Forget the token only if it is still ``value`` (compare-and-drop)."""
        with self._lock:
            if self._token is None or self._token.value != value:
                return False
            self._token = None
            return True

    def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        """Always granted: ``flight_lock`` already serialises this process."""
        return True

    def release_token_lock(self, owner: str) -> None:
        """Nothing to release."""

    def get_identity(self, identity_token: str) -> Identity | None:
        """The cached identity for ``identity_token``, until its ``expire``."""
        with self._lock:
            entry = self._identities.get(identity_key(identity_token))
        return None if entry is None else entry[1]

    def put_identity(self, identity_token: str, identity: Identity) -> None:
        """Cache ``identity`` until its ``expire`` (an expired one is not kept)."""
        entry = (identity.expire.timestamp(), identity)
        with self._lock:
            self._identities[identity_key(identity_token)] = entry

    def backoff_remaining(self) -> float:
        """Seconds left of the quota back-off, 0 when there is none."""
        return max(0.0, self._backoff_until - time.time())

    def set_backoff(self, seconds: float) -> None:
        """Keep away from the gateway for ``seconds``."""
        self._backoff_until = time.time() + seconds

    def revoke(self, session_id: str, ttl: float) -> None:
        """Refuse ``session_id`` from now on, for ``ttl`` seconds (its life left)."""
        self._revoked.add(session_id, ttl)

    def is_revoked(self, session_id: str) -> bool:
        """Whether ``session_id`` was revoked (and has not run out since)."""
        return session_id in self._revoked

    def close(self) -> None:
        """Nothing to close; present so that every store closes alike."""

    def __repr__(self) -> str:
        return f"MemoryStore(identities={len(self._identities)})"


class AsyncMemoryStore:
    """A :class:`MemoryStore` for async callers: the same methods, awaited.

    Every operation is a few dictionary steps under a lock held for
    microseconds, so calling the sync methods from the event loop is fine.
    """

    def __init__(self, memory: MemoryStore | None = None) -> None:
        #: The wrapped store; sync code may share it.
        self.memory = MemoryStore() if memory is None else memory
        self._flight_lock = anyio.Lock()

    @property
    def flight_lock(self) -> anyio.Lock:
        """Held by the one task that fetches a token for this event loop."""
        return self._flight_lock

    async def get_token(self) -> AccessToken | None:
        return self.memory.get_token()

    async def put_token(self, token: AccessToken) -> None:
        self.memory.put_token(token)

    async def drop_token(self, value: str) -> bool:
        return self.memory.drop_token(value)

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        return True

    async def release_token_lock(self, owner: str) -> None:
        pass

    async def get_identity(self, identity_token: str) -> Identity | None:
        return self.memory.get_identity(identity_token)

    async def put_identity(self, identity_token: str, identity: Identity) -> None:
        self.memory.put_identity(identity_token, identity)

    async def backoff_remaining(self) -> float:
        return self.memory.backoff_remaining()

    async def set_backoff(self, seconds: float) -> None:
        self.memory.set_backoff(seconds)

    async def revoke(self, session_id: str, ttl: float) -> None:
        self.memory.revoke(session_id, ttl)

    async def is_revoked(self, session_id: str) -> bool:
        return self.memory.is_revoked(session_id)

    async def close(self) -> None:
        self.memory.close()

    def __repr__(self) -> str:
        return f"AsyncMemoryStore({self.memory!r})"


# -- redis: what the sync and async flavours share -----------------------------

# Delete the key only when it still holds what the caller saw; both scripts
# keep compare-and-delete atomic against other processes.
_DROP_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['value'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class _Keys:
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
        return self.prefix + "identity:" + identity_key(identity_token)

    def revoked(self, session_id: str) -> str:
        return self.prefix + "revoked:" + session_id


class _RevocationCache:
    """This process's memory of revocation answers read from Redis.

    Revoked sessions are remembered until they run out (they never come
    back); "not revoked" for :data:`REVOCATION_CACHE_SECONDS` only.
    """

    def __init__(self, max_size: int = 100_000) -> None:
        self._revoked = _Deadlines(max_size)
        self._clear = _Deadlines(max_size, clock=time.monotonic)

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


def _import_redis() -> Any:
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
def _redis_errors() -> Iterator[None]:
    redis = _import_redis()
    try:
        yield
    except redis.RedisError as exc:
        # The class name only: messages may name hosts, never worth the risk.
        raise StoreUnavailable(
            f"token store (Redis) failed: {type(exc).__name__}"
        ) from exc


def _token_json(token: AccessToken) -> str:
    data = {
        "value": token.value,
        "lifetime": token.lifetime,
        "expires_at": token.expires_at,
    }
    return json.dumps(data)


def _token_from(raw: bytes | str | None) -> AccessToken | None:
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


def _identity_json(identity: Identity) -> str:
    data = identity.to_json()
    del data["id"]  # the identity token itself stays out of Redis
    return json.dumps(data, ensure_ascii=False)


def _identity_from(raw: bytes | str | None, identity_token: str) -> Identity | None:
    if raw is None:
        return None
    try:
        return Identity.from_gateway({**json.loads(raw), "id": identity_token})
    except (ValueError, TypeError, GatewayUnavailable):
        return None


def _revoked_until(raw: bytes | str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        # Not ours to read, but present: fail closed, and ask again soon.
        return time.time() + REVOCATION_CACHE_SECONDS


def _millis(seconds: float) -> int:
    # Redis refuses PX 0: anything positive lasts at least a millisecond.
    return max(1, int(seconds * 1000))


def _millis_until(moment: float) -> int:
    return int((moment - time.time()) * 1000)


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


# -- redis, sync -------------------------------------------------------------------


class RedisStore:
    """The fleet-wide store over ``redis.Redis``.

    :param client: a ``redis.Redis`` (from ``redis.Redis.from_url``).
    :param settings: names the application whose keys this store uses.
    """

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        _import_redis()
        self._redis = client
        self._keys = _Keys(settings)
        self._url = settings.redis_url or ""
        self._flight_lock = threading.Lock()
        self._revocations = _RevocationCache()
        self._drop_token = client.register_script(_DROP_SCRIPT)
        self._release_lock = client.register_script(_RELEASE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStore:
        """Connect to ``settings.redis_url`` with the gateway's timeout."""
        redis = _import_redis()
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout,
        )
        return cls(client, settings)

    @property
    def flight_lock(self) -> threading.Lock:
        """Held by the one thread of this process that fetches a token."""
        return self._flight_lock

    def get_token(self) -> AccessToken | None:
        with _redis_errors():
            return _token_from(self._redis.get(self._keys.token))

    def put_token(self, token: AccessToken) -> None:
        with _redis_errors():
            ttl = _millis_until(token.expires_at)
            if ttl > 0:
                self._redis.set(self._keys.token, _token_json(token), px=ttl)

    def drop_token(self, value: str) -> bool:
        with _redis_errors():
            return bool(self._drop_token(keys=[self._keys.token], args=[value]))

    def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        with _redis_errors():
            key, px = self._keys.token_lock, _millis(ttl)
            return bool(self._redis.set(key, owner, nx=True, px=px))

    def release_token_lock(self, owner: str) -> None:
        with _redis_errors():
            self._release_lock(keys=[self._keys.token_lock], args=[owner])

    def get_identity(self, identity_token: str) -> Identity | None:
        with _redis_errors():
            raw = self._redis.get(self._keys.identity(identity_token))
        return _identity_from(raw, identity_token)

    def put_identity(self, identity_token: str, identity: Identity) -> None:
        ttl = _millis_until(identity.expire.timestamp())
        if ttl <= 0:
            return
        with _redis_errors():
            key = self._keys.identity(identity_token)
            self._redis.set(key, _identity_json(identity), px=ttl)

    def backoff_remaining(self) -> float:
        with _redis_errors():
            millis = int(self._redis.pttl(self._keys.backoff))
        return max(0.0, millis / 1000)

    def set_backoff(self, seconds: float) -> None:
        with _redis_errors():
            self._redis.set(self._keys.backoff, b"1", px=_millis(seconds))

    def revoke(self, session_id: str, ttl: float) -> None:
        # Locally first: here the revocation holds even if Redis fails.
        until = time.time() + ttl
        self._revocations.remember(session_id, until)
        if ttl > 0:
            with _redis_errors():
                key = self._keys.revoked(session_id)
                self._redis.set(key, repr(until), px=_millis(ttl))

    def is_revoked(self, session_id: str) -> bool:
        known = self._revocations.lookup(session_id)
        if known is not None:
            return known

        with _redis_errors():
            raw = self._redis.get(self._keys.revoked(session_id))
        until = _revoked_until(raw)
        self._revocations.remember(session_id, until)
        return until is not None

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisStore(url={_masked(self._url)!r})"


# -- redis, async ------------------------------------------------------------------


class AsyncRedisStore:
    """The fleet-wide store over ``redis.asyncio.Redis``; see :class:`RedisStore`."""

    def __init__(self, client: redis.asyncio.Redis, settings: Settings) -> None:
        _import_redis()
        self._redis = client
        self._keys = _Keys(settings)
        self._url = settings.redis_url or ""
        self._flight_lock = anyio.Lock()
        self._revocations = _RevocationCache()
        self._drop_token = client.register_script(_DROP_SCRIPT)
        self._release_lock = client.register_script(_RELEASE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> AsyncRedisStore:
        """Connect to ``settings.redis_url`` with the gateway's timeout."""
        redis = _import_redis()
        client = redis.asyncio.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout,
        )
        return cls(client, settings)

    @property
    def flight_lock(self) -> anyio.Lock:
        """Held by the one task of this process that fetches a token."""
        return self._flight_lock

    async def get_token(self) -> AccessToken | None:
        with _redis_errors():
            return _token_from(await self._redis.get(self._keys.token))

    async def put_token(self, token: AccessToken) -> None:
        with _redis_errors():
            ttl = _millis_until(token.expires_at)
            if ttl > 0:
                await self._redis.set(self._keys.token, _token_json(token), px=ttl)

    async def drop_token(self, value: str) -> bool:
        with _redis_errors():
            return bool(await self._drop_token(keys=[self._keys.token], args=[value]))

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        with _redis_errors():
            key, px = self._keys.token_lock, _millis(ttl)
            return bool(await self._redis.set(key, owner, nx=True, px=px))

    async def release_token_lock(self, owner: str) -> None:
        with _redis_errors():
            await self._release_lock(keys=[self._keys.token_lock], args=[owner])

    async def get_identity(self, identity_token: str) -> Identity | None:
        with _redis_errors():
            raw = await self._redis.get(self._keys.identity(identity_token))
        return _identity_from(raw, identity_token)

    async def put_identity(self, identity_token: str, identity: Identity) -> None:
        ttl = _millis_until(identity.expire.timestamp())
        if ttl <= 0:
            return
        with _redis_errors():
            key = self._keys.identity(identity_token)
            await self._redis.set(key, _identity_json(identity), px=ttl)

    async def backoff_remaining(self) -> float:
        with _redis_errors():
            millis = int(await self._redis.pttl(self._keys.backoff))
        return max(0.0, millis / 1000)

    async def set_backoff(self, seconds: float) -> None:
        with _redis_errors():
            await self._redis.set(self._keys.backoff, b"1", px=_millis(seconds))

    async def revoke(self, session_id: str, ttl: float) -> None:
        # Locally first: here the revocation holds even if Redis fails.
        until = time.time() + ttl
        self._revocations.remember(session_id, until)
        if ttl > 0:
            with _redis_errors():
                key = self._keys.revoked(session_id)
                await self._redis.set(key, repr(until), px=_millis(ttl))

    async def is_revoked(self, session_id: str) -> bool:
        known = self._revocations.lookup(session_id)
        if known is not None:
            return known

        with _redis_errors():
            raw = await self._redis.get(self._keys.revoked(session_id))
        until = _revoked_until(raw)
        self._revocations.remember(session_id, until)
        return until is not None

    async def close(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisStore(url={_masked(self._url)!r})"
