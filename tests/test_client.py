"""GatewayClient and AsyncGatewayClient against the fake gateway.

Most tests run four times: each client, through the fake's transport and
over real HTTP (``FakeGateway.serve``). The async client is driven from
sync test code through an anyio blocking portal, so one test body states
the behaviour for both.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import anyio
import httpx2
import pytest
from _helpers import (
    EndlessBody,
    Scripted,
    error_body,
    settings_for,
    token_body,
)
from anyio.from_thread import BlockingPortal, start_blocking_portal

from y2w_middleware import Identity, Settings
from y2w_middleware._client import AsyncGatewayClient, GatewayClient
from y2w_middleware._store import AsyncMemoryStore, MemoryStore
from y2w_middleware._token import AccessToken
from y2w_middleware.errors import (
    AccessTokenHasExpired,
    CredentialError,
    GatewayUnavailable,
    IdentityTokenExpired,
    IdentityTokenInvalid,
    InvalidIdentityToken,
    LimitExceeded,
    SecretHasDisabled,
    SecretIsInvalid,
    Y2WError,
)
from y2w_middleware.testing import FakeGateway, Fault


class Driver:
    """One sync face over either client; the async one runs in a portal."""

    def __init__(self, client: GatewayClient | AsyncGatewayClient, portal: Any) -> None:
        self.client = client
        self._portal: BlockingPortal | None = portal

    def _call(self, method: str, *args: Any) -> Any:
        bound = getattr(self.client, method)
        if self._portal is None:
            return bound(*args)
        return self._portal.call(bound, *args)

    def resolve(self, identity_token: str) -> Identity:
        return cast(Identity, self._call("resolve", identity_token))

    def access_token(self) -> str:
        return cast(str, self._call("access_token"))

    def token(self) -> AccessToken:
        return cast(AccessToken, self._call("token"))

    def close(self) -> None:
        self._call("close")


@dataclasses.dataclass
class Face:
    """How the test reaches the fake: a base URL, and a transport or None."""

    gw: FakeGateway
    url: str
    transport: httpx2.MockTransport | None

    def settings(self, **overrides: Any) -> Settings:
        return settings_for(self.gw, self.url, **overrides)


Connect = Callable[..., Driver]


@pytest.fixture
def gw() -> FakeGateway:
    return FakeGateway()


@pytest.fixture(params=["transport", "served"])
def face(request: pytest.FixtureRequest, gw: FakeGateway) -> Iterator[Face]:
    if request.param == "transport":
        yield Face(gw, "http://gateway.test", gw.transport())
        return
    with gw.serve() as url:
        yield Face(gw, url, None)


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest, face: Face) -> Iterator[Connect]:
    """Builds clients of this test's kind over this test's face."""
    drivers: list[Driver] = []
    with start_blocking_portal("asyncio") as portal:

        def make(store: MemoryStore | None = None, **overrides: Any) -> Driver:
            settings = face.settings(**overrides)
            if request.param == "sync":
                sync = GatewayClient(settings, transport=face.transport, store=store)
                driver = Driver(sync, None)
            else:
                aclient = AsyncGatewayClient(
                    settings, transport=face.transport, store=store
                )
                driver = Driver(aclient, portal)
            drivers.append(driver)
            return driver

        yield make
        for driver in drivers:
            driver.close()


def count(gw: FakeGateway) -> tuple[int, int]:
    calls = gw.calls
    return calls["token"], calls["account"]


# -- the contract, end to end -------------------------------------------------


def test_resolve_returns_the_person(gw: FakeGateway, connect: Connect) -> None:
    """An identity token resolves to the uid and name the gateway holds."""
    token = gw.issue_identity_token("f3292423", "张德强")

    identity = connect().resolve(token)

    assert (identity.uid, identity.name) == ("f3292423", "张德强")
    assert identity.id == token
    assert identity.expire.utcoffset() is not None


def test_resolved_identities_are_cached(gw: FakeGateway, connect: Connect) -> None:
    """Resolving the same token again makes no gateway call."""
    token = gw.issue_identity_token("f3292423", "张德强")
    client = connect()

    first = client.resolve(token)
    second = client.resolve(token)

    assert second == first
    assert count(gw) == (1, 1)


def test_access_token_is_fetched_once_and_cached(
    gw: FakeGateway, connect: Connect
) -> None:
    """Repeated access-token requests share one token call."""
    client = connect()

    values = {client.access_token() for _ in range(3)}
    token = client.token()

    assert values == {token.value}
    assert gw.token_ttl - 2 <= token.expires_in <= gw.token_ttl
    assert count(gw) == (1, 0)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("short", id="too-short"),
        pytest.param("../../v1/token", id="traversal"),
        pytest.param("9bqzkNIrbeEpA5Ar?x=1", id="query"),
        pytest.param("9bqzkNIrbeEpA5Ar\n", id="newline"),
    ],
)
def test_malformed_identity_tokens_make_no_call(
    gw: FakeGateway, connect: Connect, bad: str
) -> None:
    """A token of the wrong shape is refused before any gateway call."""
    with pytest.raises(InvalidIdentityToken):
        connect().resolve(bad)

    assert gw.calls == {"token": 0, "account": 0, "other": 0}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(FakeGateway.expire_access_tokens, id="expired"),
        pytest.param(FakeGateway.revoke_access_tokens, id="revoked"),
    ],
)
def test_a_refused_access_token_is_replaced_once(
    gw: FakeGateway, connect: Connect, spoil: Callable[[FakeGateway], None]
) -> None:
    """After a 401 the client fetches a new token and the lookup succeeds."""
    client = connect()
    client.resolve(gw.issue_identity_token("u1", "甲"))
    old = client.access_token()
    spoil(gw)

    identity = client.resolve(gw.issue_identity_token("u2", "乙"))

    assert identity.uid == "u2"
    assert client.access_token() != old
    assert count(gw) == (2, 3)


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [
        pytest.param(None, IdentityTokenInvalid, id="unknown"),
        pytest.param(0, IdentityTokenExpired, id="expired"),
    ],
)
def test_bad_identity_tokens_are_raised_and_not_cached(
    gw: FakeGateway, connect: Connect, ttl: int | None, expected: type[Y2WError]
) -> None:
    """The gateway's identity verdicts are raised as such, never cached."""
    token = (
        "NoSuchToken12345"
        if ttl is None
        else gw.issue_identity_token("u", "n", ttl=ttl)
    )
    client = connect()

    for _ in range(2):
        with pytest.raises(expected):
            client.resolve(token)

    assert count(gw) == (1, 2)


def test_a_disabled_secret_fails_the_token_call(
    gw: FakeGateway, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """SecretHasDisabled is a CredentialError, logged once as ERROR."""
    caplog.set_level(logging.INFO, logger="y2w_middleware")
    gw.disable_secret()

    with pytest.raises(SecretHasDisabled) as caught:
        connect().access_token()

    assert isinstance(caught.value, CredentialError)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "credentials" in errors[0].getMessage()


def test_a_credential_refusal_on_the_account_call_is_not_retried(
    gw: FakeGateway, connect: Connect
) -> None:
    """A 403 on the account call is raised at once: no new token, no retry."""
    client = connect()
    client.access_token()
    gw.set_secret_error(True)

    with pytest.raises(CredentialError):
        client.resolve(gw.issue_identity_token("u", "n"))

    assert count(gw) == (1, 1)


def test_a_wrong_secret_is_refused(gw: FakeGateway, connect: Connect) -> None:
    """Settings with the wrong secret raise SecretIsInvalid."""
    with pytest.raises(SecretIsInvalid):
        connect(secret="not-the-secret").access_token()


def test_limit_exceeded_backs_off_without_calling(
    gw: FakeGateway, connect: Connect
) -> None:
    """LimitExceeded carries retry_after and stops calls for the back-off."""
    client = connect()
    gw.set_quota(1)  # the token call spends it
    token = gw.issue_identity_token("u", "n")

    with pytest.raises(LimitExceeded) as first:
        client.resolve(token)
    with pytest.raises(LimitExceeded) as second:
        client.resolve(token)

    assert first.value.retry_after == 60
    assert second.value.retry_after is not None
    assert second.value.retry_after <= 60
    assert count(gw) == (1, 1)


@pytest.mark.parametrize(
    ("fault", "expected", "status"),
    [
        pytest.param(Fault.HTML_502, GatewayUnavailable, 502, id="html-502"),
        pytest.param(Fault.NON_JSON, GatewayUnavailable, 200, id="non-json"),
        pytest.param(Fault.JS_LITERAL_500, IdentityTokenInvalid, 500, id="js-500"),
    ],
)
def test_gateway_faults_are_reported(
    gw: FakeGateway,
    connect: Connect,
    fault: Fault,
    expected: type[Y2WError],
    status: int,
) -> None:
    """Proxy pages and odd bodies are unavailability; the JS 500 is read."""
    client = connect()
    client.access_token()
    gw.inject(fault, endpoint="account")

    with pytest.raises(expected) as caught:
        client.resolve(gw.issue_identity_token("u", "n"))

    assert getattr(caught.value, "status", None) == status


def test_a_slow_gateway_times_out(gw: FakeGateway, connect: Connect) -> None:
    """An answer later than the timeout is GatewayUnavailable, chained."""
    gw.inject(Fault.DELAY, endpoint="token", seconds=1.0)

    with pytest.raises(GatewayUnavailable) as caught:
        connect(timeout=0.2).access_token()

    assert isinstance(caught.value.__cause__, httpx2.TimeoutException)
    assert "Timeout" in str(caught.value)


# -- what the fake cannot play: scripted answers --------------------------------


@pytest.fixture(params=["sync", "async"])
def scripted(request: pytest.FixtureRequest) -> Iterator[Callable[..., Driver]]:
    """Builds a client of this test's kind over a scripted transport."""
    gw = FakeGateway()
    with start_blocking_portal("asyncio") as portal:
        drivers: list[Driver] = []

        def make(script: Scripted) -> Driver:
            settings = settings_for(gw)
            if request.param == "sync":
                driver = Driver(
                    GatewayClient(settings, transport=script.transport()), None
                )
            else:
                client = AsyncGatewayClient(settings, transport=script.transport())
                driver = Driver(client, portal)
            drivers.append(driver)
            return driver

        yield make
        for driver in drivers:
            driver.close()


def test_redirects_are_not_followed(scripted: Callable[..., Driver]) -> None:
    """A 3xx is GatewayUnavailable and its Location is never requested."""
    script = Scripted((302, b"", {"Location": "http://elsewhere.test/v1/token"}))

    with pytest.raises(GatewayUnavailable) as caught:
        scripted(script).access_token()

    assert caught.value.status == 302
    assert len(script.requests) == 1


def test_a_large_declared_answer_is_refused(scripted: Callable[..., Driver]) -> None:
    """An answer over 64 KiB is refused."""
    script = Scripted((200, b"x" * (64 * 1024 + 1)))

    with pytest.raises(GatewayUnavailable, match="64 KiB"):
        scripted(script).access_token()


def test_an_endless_answer_is_cut_at_the_cap(scripted: Callable[..., Driver]) -> None:
    """A body without a length is read only until it passes the cap."""
    body = EndlessBody()
    script = Scripted((200, lambda: body, {"Content-Type": "application/json"}))

    with pytest.raises(GatewayUnavailable, match="64 KiB"):
        scripted(script).access_token()

    assert body.given <= 64 * 1024 // len(body.chunk) + 2


def test_two_refusals_in_a_row_are_raised(scripted: Callable[..., Driver]) -> None:
    """The retry happens once: a second 401 raises the access-token error."""
    script = Scripted(
        (200, token_body("one")),
        (401, error_body("AccessTokenHasExpired", 401)),
        (200, token_body("two")),
        (401, error_body("AccessTokenHasExpired", 401)),
    )

    with pytest.raises(AccessTokenHasExpired):
        scripted(script).resolve("9bqzkNIrbeEpA5Ar")

    assert len(script.requests) == 4


def test_a_vanishing_connection_is_unavailable(scripted: Callable[..., Driver]) -> None:
    """An httpx2 transport error becomes GatewayUnavailable naming its class."""
    script = Scripted(httpx2.RemoteProtocolError("peer closed connection"))

    with pytest.raises(GatewayUnavailable, match="RemoteProtocolError"):
        scripted(script).access_token()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_gateway_is_unavailable_sync() -> None:
    """Connection refused: GatewayUnavailable, chained, no URL in the message."""
    settings = settings_for(FakeGateway(), _closed_port_url(), timeout=1)

    with GatewayClient(settings) as client, pytest.raises(GatewayUnavailable) as caught:
        client.access_token()

    assert isinstance(caught.value.__cause__, httpx2.ConnectError)
    assert "127.0.0.1" not in str(caught.value)


@pytest.mark.anyio
async def test_an_unreachable_gateway_is_unavailable_async() -> None:
    """The async client reports a refused connection the same way."""
    settings = settings_for(FakeGateway(), _closed_port_url(), timeout=1)

    async with AsyncGatewayClient(settings) as client:
        with pytest.raises(GatewayUnavailable) as caught:
            await client.access_token()

    assert isinstance(caught.value.__cause__, httpx2.ConnectError)


# -- one token call for a burst ---------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("served", [False, True], ids=["transport", "served"])
async def test_a_burst_of_coroutines_shares_one_token_call(
    gw: FakeGateway, served: bool
) -> None:
    """100 tasks on a cold cache make exactly one token call."""
    gw.inject(Fault.DELAY, endpoint="token", seconds=0.05)
    with gw.serve() as url:
        settings = settings_for(gw, url if served else "http://gateway.test")
        transport = None if served else gw.transport()
        results: list[str] = []

        async with AsyncGatewayClient(settings, transport=transport) as client:

            async def one() -> None:
                results.append(await client.access_token())

            async with anyio.create_task_group() as group:
                for _ in range(100):
                    group.start_soon(one)

    assert len(results) == 100
    assert len(set(results)) == 1
    assert gw.calls["token"] == 1


@pytest.mark.parametrize("served", [False, True], ids=["transport", "served"])
def test_a_burst_of_threads_shares_one_token_call(
    gw: FakeGateway, served: bool
) -> None:
    """20 threads on a cold cache make exactly one token call."""
    gw.inject(Fault.DELAY, endpoint="token", seconds=0.05)
    barrier = threading.Barrier(20)
    results: list[str] = []

    with gw.serve() as url:
        settings = settings_for(gw, url if served else "http://gateway.test")
        with GatewayClient(
            settings, transport=None if served else gw.transport()
        ) as client:

            def one() -> None:
                barrier.wait()
                results.append(client.access_token())

            threads = [threading.Thread(target=one) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    assert len(results) == 20
    assert len(set(results)) == 1
    assert gw.calls["token"] == 1


# -- the client as an object ------------------------------------------------------


def test_a_stale_token_is_replaced_before_it_expires(
    gw: FakeGateway, connect: Connect
) -> None:
    """A cached token inside its refresh leeway is not used any more."""
    store = MemoryStore()
    store.put_token(AccessToken("nearly-gone", 7200, expires_at=time.time() + 30))

    value = connect(store=store).access_token()

    assert value != "nearly-gone"
    assert count(gw) == (1, 0)


def test_sync_and_async_clients_can_share_a_memory_store(gw: FakeGateway) -> None:
    """An async client handed a MemoryStore uses the sync client's token."""
    store = MemoryStore()
    settings = settings_for(gw)

    with GatewayClient(settings, transport=gw.transport(), store=store) as sync:
        value = sync.access_token()

    async def use_async() -> str:
        async with AsyncGatewayClient(
            settings, transport=gw.transport(), store=store
        ) as client:
            assert isinstance(client.store, AsyncMemoryStore)
            return await client.access_token()

    assert anyio.run(use_async) == value
    assert gw.calls["token"] == 1


def test_settings_default_to_the_environment(
    gw: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GatewayClient()`` reads its settings from ``Y2W_*`` variables."""
    monkeypatch.setenv("Y2W_APPID", gw.appid)
    monkeypatch.setenv("Y2W_SECRET", gw.secret)
    monkeypatch.setenv("Y2W_SESSION_SECRET", "a-session-secret-long-enough")
    monkeypatch.setenv("Y2W_GATEWAY_URL", "http://gateway.test")

    with GatewayClient(transport=gw.transport()) as client:
        assert client.settings.appid == gw.appid
        assert client.access_token()


def test_a_closed_client_refuses_to_work(gw: FakeGateway) -> None:
    """After close() every call raises RuntimeError; close() is idempotent."""
    client = GatewayClient(settings_for(gw), transport=gw.transport())
    client.close()
    client.close()

    for call in (client.access_token, client.token, lambda: client.resolve("x" * 16)):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    with pytest.raises(RuntimeError), client:
        pass
    assert "closed" in repr(client)


@pytest.mark.anyio
async def test_a_closed_async_client_refuses_to_work(gw: FakeGateway) -> None:
    """The async client has the same guard, and aclose() is close()."""
    client = AsyncGatewayClient(settings_for(gw), transport=gw.transport())
    async with client:
        await client.access_token()
    await client.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await client.resolve("x" * 16)
    with pytest.raises(RuntimeError):
        async with client:
            pass


def test_a_store_passed_in_stays_open(gw: FakeGateway) -> None:
    """Closing the client leaves a caller's store alone."""
    closed: list[bool] = []

    class Store(MemoryStore):
        def close(self) -> None:
            closed.append(True)

    with GatewayClient(settings_for(gw), transport=gw.transport(), store=Store()):
        pass

    assert closed == []


def test_reprs_show_no_secret(gw: FakeGateway) -> None:
    """The client's repr holds neither the secret nor URL credentials."""
    settings = settings_for(gw, "http://user:hunter2@gateway.test/base")

    with GatewayClient(settings, transport=gw.transport()) as client:
        text = repr(client)

    assert gw.secret not in text
    assert "hunter2" not in text
    assert "user" not in text
    assert "gateway.test/base" in text


def test_the_shell_example_works(gw: FakeGateway) -> None:
    """The README's shell session resolves a token over real HTTP."""
    token = gw.issue_identity_token("f3292423", "张德强")

    with gw.serve() as url:
        settings = Settings(
            appid=gw.appid,
            secret=gw.secret,
            session_secret="a-session-secret-long-enough",
            gateway_url=url,
        )
        with GatewayClient(settings) as c:
            assert c.resolve(token).name == "张德强"


# -- logs ---------------------------------------------------------------------------


def test_one_info_line_per_gateway_call(
    gw: FakeGateway, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """Each gateway call logs one INFO line with a path template."""
    caplog.set_level(logging.DEBUG)
    client = connect()
    token = gw.issue_identity_token("u", "n")

    client.resolve(token)
    client.resolve(token)

    ours = [
        r
        for r in caplog.records
        if r.name == "y2w_middleware" and r.levelno == logging.INFO
    ]
    assert [cast(tuple[Any, ...], r.args)[0] for r in ours] == [
        "/v1/token",
        "/api/face-login/account/{token}",
    ]
    assert all(isinstance(r.args, tuple) for r in ours)
    assert len(ours) == sum(count(gw))


class RecordingStore(MemoryStore):
    """A memory store that remembers every access token it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: list[str] = []

    def put_token(self, token: AccessToken) -> None:
        self.tokens.append(token.value)
        super().put_token(token)


def _every_scenario(
    gw: FakeGateway, connect: Connect
) -> tuple[list[str], list[Exception]]:
    """Play every scenario once; return the access tokens seen and the errors."""
    store = RecordingStore()
    client = connect(store=store)
    raised: list[Exception] = []
    identity_tokens: list[str] = []

    def attempt(action: Callable[[], object]) -> None:
        try:
            action()
        except Y2WError as exc:
            raised.append(exc)

    def new_token(ttl: float = 300) -> str:
        token = gw.issue_identity_token("u", "n", ttl=ttl)
        identity_tokens.append(token)
        return token

    token = new_token()
    attempt(lambda: client.resolve(token))
    attempt(lambda: client.resolve(token))  # cache hit
    gw.expire_access_tokens()
    attempt(lambda: client.resolve(new_token()))  # refresh and retry
    gw.revoke_access_tokens()
    attempt(lambda: client.resolve(new_token()))
    attempt(lambda: client.resolve("bad token!"))
    attempt(lambda: client.resolve(new_token(ttl=0)))  # identity expired
    attempt(lambda: client.resolve("NoSuchToken12345"))  # identity invalid
    identity_tokens.append("NoSuchToken12345")
    for fault in (Fault.HTML_502, Fault.NON_JSON, Fault.JS_LITERAL_500):
        gw.inject(fault, endpoint="account")
        attempt(lambda: client.resolve(new_token()))
    gw.set_secret_error(True)
    attempt(lambda: client.resolve(new_token()))
    gw.set_secret_error(False)
    gw.expire_access_tokens()
    gw.disable_secret()
    attempt(lambda: client.resolve(new_token()))  # 401, then the token call fails
    gw.enable_secret()
    attempt(lambda: connect(secret="wrong-secret-value").access_token())
    gw.inject(Fault.DELAY, endpoint="token", seconds=0.5)
    attempt(lambda: connect(timeout=0.1, store=MemoryStore()).access_token())
    gw.set_quota(0)
    gw.expire_access_tokens()
    attempt(lambda: client.resolve(new_token()))
    attempt(lambda: client.resolve(new_token()))  # inside the back-off

    return store.tokens + identity_tokens, raised


def test_nothing_secret_reaches_any_log_or_exception(
    gw: FakeGateway, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    """No record of any logger, nor any error, holds a secret or a token."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx2", "httpcore2", "y2w_middleware"):
        logging.getLogger(name).propagate = True

    tokens, raised = _every_scenario(gw, connect)
    secrets = [gw.secret, "wrong-secret-value", *tokens]

    assert len(tokens) >= 8
    assert len(raised) >= 10
    assert any(r.name.startswith("httpx2") for r in caplog.records)
    for record in caplog.records:
        seen = f"{record.getMessage()} {record.msg!r} {record.args!r}"
        for secret in secrets:
            assert secret not in seen, (record.name, record.levelname)
    for exc in raised:
        for secret in secrets:
            assert secret not in str(exc)
            assert secret not in repr(exc)
    kinds = {type(exc) for exc in raised}
    assert {
        GatewayUnavailable,
        IdentityTokenInvalid,
        IdentityTokenExpired,
        InvalidIdentityToken,
        LimitExceeded,
        SecretIsInvalid,
    } <= kinds
    assert any(isinstance(exc, CredentialError) for exc in raised)
