"""Where access tokens, identities, revocations and the quota back-off live.

Two flavours, chosen by :func:`open_store` / :func:`open_async_store`:

- :class:`MemoryStore`, the default: one process, bounded ``cachetools``
  caches behind a lock. It has sync methods only; async callers wrap it in
  :class:`AsyncMemoryStore` (``AsyncGatewayClient`` does that by itself when
  handed a ``MemoryStore``), so a sync and an async client may share one.
- ``RedisStore`` and ``AsyncRedisStore`` (``_redis.py``), when
  ``Y2W_REDIS_URL`` is set: a fleet of processes shares one access token,
  the identity cache, the revocations and the back-off.

This module also holds what every store offers, :class:`TokenStore` and
its async twin :class:`AsyncTokenStore`: the interface the gateway flows
and the middleware use.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

import anyio
from cachetools import TLRUCache

from ._cache import Deadlines, identity_key
from ._identity import Identity
from ._redis import AsyncRedisStore, RedisStore
from ._settings import Settings
from ._token import AccessToken

__all__ = [
    "AsyncMemoryStore",
    "AsyncTokenStore",
    "MemoryStore",
    "TokenStore",
    "open_async_store",
    "open_store",
]


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
        self._revoked = Deadlines(max_revocations)

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
