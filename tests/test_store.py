"""The token stores: memory and Redis, sync and async, and a fleet of clients.

Redis tests use the ``redis_url`` fixture (a private redis-server) and
skip without one, unless ``Y2W_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import redis
from _helpers import SESSION_SECRET, settings_for

from y2w_middleware import Identity, Secret, Settings
from y2w_middleware import _redis_common as store_module
from y2w_middleware._client import AsyncGatewayClient, GatewayClient
from y2w_middleware._redis import AsyncRedisStore, RedisStore
from y2w_middleware._store import (
    AsyncMemoryStore,
    AsyncTokenStore,
    MemoryStore,
    TokenStore,
    open_async_store,
    open_store,
)
from y2w_middleware._token import AccessToken
from y2w_middleware.errors import ConfigError, LimitExceeded, StoreUnavailable
from y2w_middleware.testing import FakeGateway, Fault

IDENTITY_TOKEN = "9bqzkNIrbeEpA5Ar"


def make_settings(
    redis_url: str | None = None, appid: str = "a44r4aMbO7BZ1NoW"
) -> Settings:
    return Settings(
        appid=appid,
        secret=Secret("a4474wRq9BwujRV7hM4SGH0QMyrEJF5J"),
        session_secret=Secret(SESSION_SECRET),
        redis_url=redis_url,
    )


def make_identity(ttl: float = 300, token: str = IDENTITY_TOKEN) -> Identity:
    now = datetime.now(UTC)
    return Identity(
        id=token,
        uid="f3292423",
        name="张德强",
        expire=now + timedelta(seconds=ttl),
        created_at=now,
        updated_at=now,
    )


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[TokenStore]:
    """Each sync store in turn."""
    if request.param == "memory":
        yield MemoryStore()
        return
    url = request.getfixturevalue("redis_url")
    redis_store = RedisStore.from_settings(make_settings(url))
    yield redis_store
    redis_store.close()


# -- access tokens ------------------------------------------------------------


def test_an_empty_store_has_no_token(store: TokenStore) -> None:
    """A new store holds no token and no back-off."""
    assert store.get_token() is None
    assert store.backoff_remaining() == 0


def test_a_stored_token_comes_back(store: TokenStore) -> None:
    """A token put in is read back with its value and expiry."""
    token = AccessToken.issued("a447bdDAUeKORvmt", 7200)

    store.put_token(token)

    assert store.get_token() == token


def test_an_expired_token_is_not_returned(store: TokenStore) -> None:
    """A token past its expiry is as good as none."""
    store.put_token(AccessToken("gone", 60, expires_at=time.time() - 1))

    assert store.get_token() is None


def test_only_the_token_that_failed_is_dropped(store: TokenStore) -> None:
    """Compare-and-drop leaves a different token in place."""
    store.put_token(AccessToken.issued("current", 7200))

    assert store.drop_token("older") is False
    assert store.get_token() is not None
    assert store.drop_token("current") is True
    assert store.get_token() is None


# -- identities -----------------------------------------------------------------


def test_identities_are_cached_until_they_expire(store: TokenStore) -> None:
    """A cached identity comes back whole, keyed by its token."""
    identity = make_identity()

    store.put_identity(IDENTITY_TOKEN, identity)

    cached = store.get_identity(IDENTITY_TOKEN)
    assert cached is not None
    assert (cached.id, cached.uid, cached.name) == (
        identity.id,
        identity.uid,
        identity.name,
    )
    assert abs((cached.expire - identity.expire).total_seconds()) < 0.001
    assert store.get_identity("SomeOtherToken12") is None


def test_expired_identities_are_not_cached(store: TokenStore) -> None:
    """An identity whose expire has passed is not kept."""
    store.put_identity(IDENTITY_TOKEN, make_identity(ttl=-1))

    assert store.get_identity(IDENTITY_TOKEN) is None


# -- back-off and revocations ---------------------------------------------------


def test_the_back_off_counts_down(store: TokenStore) -> None:
    """After set_backoff the remaining time is about what was set."""
    store.set_backoff(60)

    assert 59 < store.backoff_remaining() <= 60


def test_a_revoked_session_is_refused(store: TokenStore) -> None:
    """revoke() makes is_revoked() true for that session only."""
    assert store.is_revoked("s1") is False

    store.revoke("s1", 60)

    assert store.is_revoked("s1") is True
    assert store.is_revoked("s2") is False


def test_a_revocation_ends_with_the_session(store: TokenStore) -> None:
    """A revocation lasts the session's remaining life, then goes."""
    store.revoke("short", 0.05)
    store.revoke("already-over", 0)
    store.revoke("a-blink", 0.0004)  # under a millisecond: still accepted

    assert store.is_revoked("short") is True
    assert store.is_revoked("already-over") is False
    time.sleep(0.1)
    assert store.is_revoked("short") is False


# -- memory only ----------------------------------------------------------------


def test_the_memory_store_is_bounded() -> None:
    """Past max_identities the least recently used identity goes."""
    memory = MemoryStore(max_identities=2)
    tokens = ["TokenNumberOne01", "TokenNumberTwo02", "TokenNumberThree"]

    for token in tokens:
        memory.put_identity(token, make_identity(token=token))

    assert memory.get_identity(tokens[0]) is None
    assert memory.get_identity(tokens[2]) is not None


def test_memory_revocations_are_bounded_newest_kept() -> None:
    """Past max_revocations the oldest revocations go, the newest stay."""
    memory = MemoryStore(max_revocations=10)

    for n in range(11):
        memory.revoke(f"s{n}", 60)

    assert memory.is_revoked("s10") is True
    assert memory.is_revoked("s0") is False
    assert sum(memory.is_revoked(f"s{n}") for n in range(11)) <= 10


def test_expired_revocations_make_room_first() -> None:
    """A full store drops sessions that ended before any live revocation."""
    memory = MemoryStore(max_revocations=3)
    memory.revoke("ended", 0.01)
    memory.revoke("live-1", 60)
    memory.revoke("live-2", 60)
    time.sleep(0.02)

    memory.revoke("live-3", 60)

    assert all(memory.is_revoked(f"live-{n}") for n in (1, 2, 3))


def test_the_memory_store_grants_every_fleet_lock() -> None:
    """In one process the flight lock is enough: the fleet lock is a no-op."""
    memory = MemoryStore()

    assert memory.acquire_token_lock("a", 5) is True
    assert memory.acquire_token_lock("b", 5) is True
    memory.release_token_lock("a")


def test_the_memory_store_is_safe_across_threads() -> None:
    """Concurrent writers and readers leave the caches consistent."""
    memory = MemoryStore(max_identities=50, max_revocations=50)

    def hammer(n: int) -> None:
        for i in range(300):
            memory.revoke(f"{n}-{i}", 60)
            memory.is_revoked(f"{n}-{i - 1}")
            token = f"Token{n:04d}x{i:06d}"
            memory.put_identity(token, make_identity(token=token))
            memory.get_identity(token)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert repr(memory) == "MemoryStore(identities=50)"


# -- choosing a store -----------------------------------------------------------


def test_open_store_picks_memory_without_a_redis_url() -> None:
    """No Y2W_REDIS_URL: the in-process stores."""
    assert isinstance(open_store(make_settings()), MemoryStore)
    assert isinstance(open_async_store(make_settings()), AsyncMemoryStore)


def test_open_store_picks_redis_with_a_redis_url() -> None:
    """A Y2W_REDIS_URL: the Redis stores (connecting lazily)."""
    settings = make_settings("redis://127.0.0.1:1/0")

    sync_store = open_store(settings)
    async_store = open_async_store(settings)

    assert isinstance(sync_store, RedisStore)
    assert isinstance(async_store, AsyncRedisStore)
    sync_store.close()
    anyio.run(async_store.close)


def test_a_missing_redis_package_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the optional extra, a Redis URL fails with an install hint."""
    monkeypatch.setitem(sys.modules, "redis", None)

    with pytest.raises(ConfigError, match=r"y2w-middleware\[redis\]"):
        open_store(make_settings("redis://127.0.0.1:6379/0"))
    with pytest.raises(ConfigError, match="Y2W_REDIS_URL"):
        open_async_store(make_settings("redis://127.0.0.1:6379/0"))


def test_redis_reprs_hide_the_password() -> None:
    """A password in the Redis URL stays out of the store's repr."""
    settings = make_settings("redis://:hunter2@127.0.0.1:1/0")
    redis_store = RedisStore.from_settings(settings)

    text = repr(redis_store)
    redis_store.close()

    assert "hunter2" not in text
    assert "127.0.0.1:1" in text


def test_an_unreachable_redis_is_store_unavailable() -> None:
    """A Redis that does not answer raises StoreUnavailable, chained."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(f"redis://:hunter2@127.0.0.1:{port}/0")
    redis_store = RedisStore.from_settings(settings)

    with pytest.raises(StoreUnavailable) as caught:
        redis_store.is_revoked("s1")
    redis_store.close()

    assert isinstance(caught.value.__cause__, redis.RedisError)
    assert "hunter2" not in str(caught.value)


# -- redis only -------------------------------------------------------------------


@pytest.fixture
def redis_pair(redis_url: str) -> Iterator[tuple[RedisStore, RedisStore]]:
    """Two stores on one Redis, as two processes of a fleet would hold."""
    settings = make_settings(redis_url)
    first, second = (
        RedisStore.from_settings(settings),
        RedisStore.from_settings(settings),
    )
    yield first, second
    first.close()
    second.close()


def test_the_token_is_shared_by_the_fleet(
    redis_pair: tuple[RedisStore, RedisStore],
) -> None:
    """A token stored by one process is read by another."""
    first, second = redis_pair

    first.put_token(AccessToken.issued("shared", 7200))

    token = second.get_token()
    assert token is not None
    assert token.value == "shared"


def test_the_fleet_lock_has_one_owner(
    redis_pair: tuple[RedisStore, RedisStore],
) -> None:
    """Only the owner's release frees the token lock."""
    first, second = redis_pair

    assert first.acquire_token_lock("one", 5) is True
    assert second.acquire_token_lock("two", 5) is False
    second.release_token_lock("two")
    assert second.acquire_token_lock("two", 5) is False
    first.release_token_lock("one")
    assert second.acquire_token_lock("two", 5) is True


def test_a_revocation_reaches_other_processes_within_the_cache_time(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached "not revoked" lasts at most REVOCATION_CACHE_SECONDS."""
    monkeypatch.setattr(store_module, "REVOCATION_CACHE_SECONDS", 0.1)
    settings = make_settings(redis_url)
    checker, revoker = (
        RedisStore.from_settings(settings),
        RedisStore.from_settings(settings),
    )

    assert checker.is_revoked("s1") is False
    revoker.revoke("s1", 60)
    assert revoker.is_revoked("s1") is True  # at once where it was revoked
    assert checker.is_revoked("s1") is False  # still the cached answer
    time.sleep(0.15)
    assert checker.is_revoked("s1") is True

    checker.close()
    revoker.close()


def test_a_local_revocation_beats_the_local_cache(
    redis_pair: tuple[RedisStore, RedisStore],
) -> None:
    """Revoking in this process overrides a cached "not revoked" at once."""
    first, _ = redis_pair
    assert first.is_revoked("s1") is False

    first.revoke("s1", 60)

    assert first.is_revoked("s1") is True


def test_redis_holds_no_raw_identity_token(redis_url: str) -> None:
    """Identity keys are hashes, and values leave out the token."""
    redis_store = RedisStore.from_settings(make_settings(redis_url))
    redis_store.put_identity(IDENTITY_TOKEN, make_identity())
    raw = redis.Redis.from_url(redis_url)

    dump = [(key, raw.get(key)) for key in raw.scan_iter()]
    raw.close()
    redis_store.close()

    assert len(dump) == 1
    assert all(
        IDENTITY_TOKEN.encode() not in key + (value or b"") for key, value in dump
    )


def test_applications_sharing_a_redis_do_not_mix(redis_url: str) -> None:
    """Keys are namespaced by appid: another app sees no token of ours."""
    ours = RedisStore.from_settings(make_settings(redis_url, appid="app-one"))
    theirs = RedisStore.from_settings(make_settings(redis_url, appid="app-two"))

    ours.put_token(AccessToken.issued("ours", 7200))

    assert theirs.get_token() is None
    ours.close()
    theirs.close()


@pytest.mark.parametrize(
    ("suffix", "value"),
    [
        pytest.param("token", b"not json", id="token-not-json"),
        pytest.param("token", b'{"value": "t"}', id="token-incomplete"),
        pytest.param("revoked:s1", b"soon", id="revocation-not-a-time"),
    ],
)
def test_damaged_entries_are_handled_safely(
    redis_url: str, suffix: str, value: bytes
) -> None:
    """Foreign values read as no token, or as revoked (failing closed)."""
    redis_store = RedisStore.from_settings(make_settings(redis_url))
    raw = redis.Redis.from_url(redis_url)
    raw.set(redis_store._keys.prefix + suffix, value)
    raw.close()

    assert redis_store.get_token() is None
    assert redis_store.is_revoked("s1") is (suffix == "revoked:s1")
    redis_store.close()


# -- async stores ----------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def open_async(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """A factory of async stores of each kind, used as ``async with``."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[AsyncTokenStore]:
        async_store = open_async_store(make_settings(url))
        try:
            yield async_store
        finally:
            await async_store.close()

    return opened


@pytest.mark.anyio
async def test_async_stores_keep_tokens(open_async: Callable[[], Any]) -> None:
    """The async stores store, read and compare-and-drop tokens."""
    async with open_async() as async_store:
        await async_store.put_token(AccessToken.issued("current", 7200))

        assert (await async_store.get_token()) is not None
        assert await async_store.drop_token("older") is False
        assert await async_store.drop_token("current") is True
        assert await async_store.get_token() is None


@pytest.mark.anyio
async def test_async_stores_keep_identities(open_async: Callable[[], Any]) -> None:
    """The async stores cache identities until they expire."""
    async with open_async() as async_store:
        await async_store.put_identity(IDENTITY_TOKEN, make_identity())
        await async_store.put_identity("ExpiredToken0001", make_identity(ttl=-1))

        cached = await async_store.get_identity(IDENTITY_TOKEN)
        assert cached is not None
        assert cached.id == IDENTITY_TOKEN
        assert await async_store.get_identity("ExpiredToken0001") is None


@pytest.mark.anyio
async def test_async_stores_keep_revocations_and_back_off(
    open_async: Callable[[], Any],
) -> None:
    """The async stores revoke sessions and count the back-off down."""
    async with open_async() as async_store:
        assert await async_store.is_revoked("s1") is False
        await async_store.revoke("s1", 60)
        await async_store.set_backoff(30)

        assert await async_store.is_revoked("s1") is True
        assert 29 < await async_store.backoff_remaining() <= 30


@pytest.mark.anyio
async def test_async_stores_grant_the_fleet_lock_once(
    open_async: Callable[[], Any],
) -> None:
    """The lock is granted; a second owner waits on Redis, not in memory."""
    async with open_async() as async_store:
        assert await async_store.acquire_token_lock("one", 5) is True
        second = await async_store.acquire_token_lock("two", 5)
        await async_store.release_token_lock("one")

        assert second is isinstance(async_store, AsyncMemoryStore)


# -- a fleet of clients over one Redis ---------------------------------------------


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


def fleet_settings(gw: FakeGateway, redis_url: str) -> Settings:
    return settings_for(gw, redis_url=redis_url)


def test_a_burst_across_processes_shares_one_token_call(
    gw: FakeGateway, redis_url: str
) -> None:
    """Two clients with their own stores on one Redis make one token call."""
    gw.inject(Fault.DELAY, endpoint="token", seconds=0.1)
    settings = fleet_settings(gw, redis_url)
    clients = [GatewayClient(settings, transport=gw.transport()) for _ in range(2)]
    barrier = threading.Barrier(10)
    results: list[str] = []

    def one(client: GatewayClient) -> None:
        barrier.wait()
        results.append(client.access_token())

    threads = [threading.Thread(target=one, args=(clients[n % 2],)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()

    assert len(set(results)) == 1
    assert gw.calls["token"] == 1


@pytest.mark.anyio
async def test_a_burst_of_async_processes_shares_one_token_call(
    gw: FakeGateway, redis_url: str
) -> None:
    """Two async clients on one Redis, 50 tasks each: one token call."""
    gw.inject(Fault.DELAY, endpoint="token", seconds=0.1)
    settings = fleet_settings(gw, redis_url)
    results: list[str] = []

    async with (
        AsyncGatewayClient(settings, transport=gw.transport()) as first,
        AsyncGatewayClient(settings, transport=gw.transport()) as second,
    ):

        async def one(client: AsyncGatewayClient) -> None:
            results.append(await client.access_token())

        async with anyio.create_task_group() as group:
            for n in range(100):
                group.start_soon(one, (first, second)[n % 2])

    assert len(set(results)) == 1
    assert gw.calls["token"] == 1


def test_the_fleet_shares_identities_tokens_and_the_back_off(
    gw: FakeGateway, redis_url: str
) -> None:
    """What one process learnt, the other does not ask the gateway again."""
    settings = fleet_settings(gw, redis_url)
    token = gw.issue_identity_token("f3292423", "张德强")

    with (
        GatewayClient(settings, transport=gw.transport()) as first,
        GatewayClient(settings, transport=gw.transport()) as second,
    ):
        first.resolve(token)
        assert second.resolve(token).uid == "f3292423"
        assert second.access_token() == first.access_token()
        assert gw.calls["token"] == 1
        assert gw.calls["account"] == 1

        gw.set_quota(0)
        with pytest.raises(LimitExceeded):
            first.resolve(gw.issue_identity_token("u", "n"))
        with pytest.raises(LimitExceeded):
            second.resolve(gw.issue_identity_token("v", "m"))

    assert gw.calls["account"] == 2


def test_a_refreshed_token_reaches_the_whole_fleet(
    gw: FakeGateway, redis_url: str
) -> None:
    """After one process replaced a refused token, the other uses the new one."""
    settings = fleet_settings(gw, redis_url)

    with (
        GatewayClient(settings, transport=gw.transport()) as first,
        GatewayClient(settings, transport=gw.transport()) as second,
    ):
        old = first.access_token()
        gw.expire_access_tokens()
        second.resolve(gw.issue_identity_token("u", "n"))

        assert first.access_token() != old
        assert gw.calls["token"] == 2
