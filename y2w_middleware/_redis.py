"""The fleet-wide stores: ``RedisStore`` and its async twin.

Used when ``Y2W_REDIS_URL`` is set (see ``open_store`` in ``_store.py``):
a fleet of processes shares one access token, the identity cache, the
revocations and the quota back-off. Both classes implement the store
interface of ``_store.py`` over ``redis.Redis`` and ``redis.asyncio.Redis``;
the keys, scripts and encodings they share live in ``_redis_common.py``.
A Redis failure raises ``StoreUnavailable``.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import anyio

from ._identity import Identity
from ._redis_common import (
    DROP_SCRIPT,
    RELEASE_SCRIPT,
    Keys,
    RevocationCache,
    identity_from,
    identity_json,
    import_redis,
    masked,
    millis,
    millis_until,
    redis_errors,
    revoked_until,
    token_from,
    token_json,
)
from ._settings import Settings
from ._token import AccessToken

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["AsyncRedisStore", "RedisStore"]


class RedisStore:
    """The fleet-wide store over ``redis.Redis``.

    :param client: a ``redis.Redis`` (from ``redis.Redis.from_url``).
    :param settings: names the application whose keys this store uses.
    """

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        import_redis()
        self._redis = client
        self._keys = Keys(settings)
        self._url = settings.redis_url or ""
        self._flight_lock = threading.Lock()
        self._revocations = RevocationCache()
        self._drop_token = client.register_script(DROP_SCRIPT)
        self._release_lock = client.register_script(RELEASE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisStore:
        """Connect to ``settings.redis_url`` with the gateway's timeout."""
        redis = import_redis()
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
        with redis_errors():
            return token_from(self._redis.get(self._keys.token))

    def put_token(self, token: AccessToken) -> None:
        with redis_errors():
            ttl = millis_until(token.expires_at)
            if ttl > 0:
                self._redis.set(self._keys.token, token_json(token), px=ttl)

    def drop_token(self, value: str) -> bool:
        with redis_errors():
            return bool(self._drop_token(keys=[self._keys.token], args=[value]))

    def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        with redis_errors():
            key, px = self._keys.token_lock, millis(ttl)
            return bool(self._redis.set(key, owner, nx=True, px=px))

    def release_token_lock(self, owner: str) -> None:
        with redis_errors():
            self._release_lock(keys=[self._keys.token_lock], args=[owner])

    def get_identity(self, identity_token: str) -> Identity | None:
        with redis_errors():
            raw = self._redis.get(self._keys.identity(identity_token))
        return identity_from(raw, identity_token)

    def put_identity(self, identity_token: str, identity: Identity) -> None:
        ttl = millis_until(identity.expire.timestamp())
        if ttl <= 0:
            return
        with redis_errors():
            key = self._keys.identity(identity_token)
            self._redis.set(key, identity_json(identity), px=ttl)

    def backoff_remaining(self) -> float:
        with redis_errors():
            millis = int(self._redis.pttl(self._keys.backoff))
        return max(0.0, millis / 1000)

    def set_backoff(self, seconds: float) -> None:
        with redis_errors():
            self._redis.set(self._keys.backoff, b"1", px=millis(seconds))

    def revoke(self, session_id: str, ttl: float) -> None:
        # Locally first: here the revocation holds even if Redis fails.
        until = time.time() + ttl
        self._revocations.remember(session_id, until)
        if ttl > 0:
            with redis_errors():
                key = self._keys.revoked(session_id)
                self._redis.set(key, repr(until), px=millis(ttl))

    def is_revoked(self, session_id: str) -> bool:
        known = self._revocations.lookup(session_id)
        if known is not None:
            return known

        with redis_errors():
            raw = self._redis.get(self._keys.revoked(session_id))
        until = revoked_until(raw)
        self._revocations.remember(session_id, until)
        return until is not None

    def close(self) -> None:
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisStore(url={masked(self._url)!r})"


class AsyncRedisStore:
    """The fleet-wide store over ``redis.asyncio.Redis``; see :class:`RedisStore`."""

    def __init__(self, client: redis.asyncio.Redis, settings: Settings) -> None:
        import_redis()
        self._redis = client
        self._keys = Keys(settings)
        self._url = settings.redis_url or ""
        self._flight_lock = anyio.Lock()
        self._revocations = RevocationCache()
        self._drop_token = client.register_script(DROP_SCRIPT)
        self._release_lock = client.register_script(RELEASE_SCRIPT)

    @classmethod
    def from_settings(cls, settings: Settings) -> AsyncRedisStore:
        """Connect to ``settings.redis_url`` with the gateway's timeout."""
        redis = import_redis()
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
        with redis_errors():
            return token_from(await self._redis.get(self._keys.token))

    async def put_token(self, token: AccessToken) -> None:
        with redis_errors():
            ttl = millis_until(token.expires_at)
            if ttl > 0:
                await self._redis.set(self._keys.token, token_json(token), px=ttl)

    async def drop_token(self, value: str) -> bool:
        with redis_errors():
            return bool(await self._drop_token(keys=[self._keys.token], args=[value]))

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        with redis_errors():
            key, px = self._keys.token_lock, millis(ttl)
            return bool(await self._redis.set(key, owner, nx=True, px=px))

    async def release_token_lock(self, owner: str) -> None:
        with redis_errors():
            await self._release_lock(keys=[self._keys.token_lock], args=[owner])

    async def get_identity(self, identity_token: str) -> Identity | None:
        with redis_errors():
            raw = await self._redis.get(self._keys.identity(identity_token))
        return identity_from(raw, identity_token)

    async def put_identity(self, identity_token: str, identity: Identity) -> None:
        ttl = millis_until(identity.expire.timestamp())
        if ttl <= 0:
            return
        with redis_errors():
            key = self._keys.identity(identity_token)
            await self._redis.set(key, identity_json(identity), px=ttl)

    async def backoff_remaining(self) -> float:
        with redis_errors():
            millis = int(await self._redis.pttl(self._keys.backoff))
        return max(0.0, millis / 1000)

    async def set_backoff(self, seconds: float) -> None:
        with redis_errors():
            await self._redis.set(self._keys.backoff, b"1", px=millis(seconds))

    async def revoke(self, session_id: str, ttl: float) -> None:
        # Locally first: here the revocation holds even if Redis fails.
        until = time.time() + ttl
        self._revocations.remember(session_id, until)
        if ttl > 0:
            with redis_errors():
                key = self._keys.revoked(session_id)
                await self._redis.set(key, repr(until), px=millis(ttl))

    async def is_revoked(self, session_id: str) -> bool:
        known = self._revocations.lookup(session_id)
        if known is not None:
            return known

        with redis_errors():
            raw = await self._redis.get(self._keys.revoked(session_id))
        until = revoked_until(raw)
        self._revocations.remember(session_id, until)
        return until is not None

    async def close(self) -> None:
        await self._redis.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisStore(url={masked(self._url)!r})"
