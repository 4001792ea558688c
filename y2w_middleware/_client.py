"""The gateway clients: ``GatewayClient`` (sync) and ``AsyncGatewayClient``.

Each is a long-lived object holding one pooled httpx2 client and a store,
and a small runner that carries out the effects of the flows written once
in ``_gateway.py``: send a request, call the store, sleep, or run a flow
under the store's flight lock. Nothing about the gateway is decided here.

Usage errors are ``RuntimeError``: a client used after ``close()``.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2

from ._effects import Effect, Exclusive, Flow, Send, Sleep, StoreCall
from ._gateway import Gateway
from ._identity import Identity
from ._logging import install_url_redaction
from ._replies import BodyReader, Failure, Reply
from ._settings import Settings
from ._store import (
    AsyncMemoryStore,
    AsyncTokenStore,
    MemoryStore,
    TokenStore,
    open_async_store,
    open_store,
)
from ._token import AccessToken

__all__ = ["AsyncGatewayClient", "GatewayClient"]

T = TypeVar("T")


class _ClientBase:
    """What both clients share: settings, the flows, the state guard, the repr."""

    def __init__(self, settings: Settings | None) -> None:
        self._settings = Settings.from_env() if settings is None else settings
        self._gateway = Gateway(self._settings)
        self._closed = False
        # httpx2 logs each request's full URL at INFO; both of our URLs
        # carry a secret (the query of call 1, the path of call 2).
        install_url_redaction()

    @property
    def settings(self) -> Settings:
        """The settings this client was built with."""
        return self._settings

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed; create a new one")

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"{type(self).__name__}(gateway_url={_without_userinfo(self._settings)!r},"
            f" appid={self._settings.appid!r}, state={state!r})"
        )


class GatewayClient(_ClientBase):
    """Talks to the gateway from sync code (WSGI apps, scripts, a shell).

    :param settings: defaults to :meth:`Settings.from_env`.
    :param transport: an httpx2 transport, e.g. ``FakeGateway().transport()``.
    :param store: where tokens and identities are cached; by default a
        fresh one from :func:`open_store`, closed with the client. A store
        passed in belongs to the caller and stays open.

    Thread-safe: one client serves every thread of a process.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx2.BaseTransport | None = None,
        store: TokenStore | None = None,
    ) -> None:
        super().__init__(settings)
        self._owns_store = store is None
        self._store = open_store(self._settings) if store is None else store
        self._http = httpx2.Client(
            transport=transport,
            timeout=httpx2.Timeout(self._settings.timeout),
            follow_redirects=False,  # a 3xx is a fault, see _replies._read
        )

    @property
    def store(self) -> TokenStore:
        """The store holding tokens, identities and revocations."""
        return self._store

    def access_token(self) -> str:
        """A valid access token, fetched only when the cached one runs out."""
        return self.token().value

    def token(self) -> AccessToken:
        """Like :meth:`access_token`, with its remaining life (``expires_in``)."""
        return self._run(self._gateway.access_token())

    def resolve(self, identity_token: str) -> Identity:
        """Who ``identity_token`` belongs to, as the gateway says (or cached)."""
        return self._run(self._gateway.resolve(identity_token))

    def close(self) -> None:
        """Close the connection pool and a store this client opened."""
        if self._closed:
            return
        self._closed = True
        self._http.close()
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> GatewayClient:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the runner ----------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        self._check_open()
        reply: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = flow.send(reply) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return cast(T, stop.value)
                try:
                    reply, error = self._perform(effect), None
                except Exception as exc:
                    reply, error = None, exc
        finally:
            flow.close()

    def _perform(self, effect: Effect) -> Any:
        match effect:
            case Send():
                return self._send(effect)
            case StoreCall(op=op, args=args):
                return getattr(self._store, op)(*args)
            case Sleep(seconds=seconds):
                time.sleep(seconds)
                return None
            case Exclusive(flow=inner):
                with self._store.flight_lock:
                    return self._run(inner)

    def _send(self, call: Send) -> Reply | Failure:
        started = time.perf_counter()
        try:
            response = self._http.send(call.request, stream=True)
            try:
                length = response.headers.get("content-length")
                reader = BodyReader(response.status_code, length, started)
                if reader.wants_more:
                    for chunk in response.iter_bytes():
                        if not reader.feed(chunk):
                            break
            finally:
                response.close()
        except httpx2.HTTPError as exc:
            return Failure.since(exc, started)
        return reader.answer()


class AsyncGatewayClient(_ClientBase):
    """Talks to the gateway from async code (ASGI apps), on anyio.

    Arguments as for :class:`GatewayClient`; ``store`` may be an async store
    or a :class:`MemoryStore`, which is wrapped (and may be shared with a
    sync client). :meth:`close` is a coroutine; :meth:`aclose` is the same.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        store: AsyncTokenStore | MemoryStore | None = None,
    ) -> None:
        super().__init__(settings)
        self._owns_store = store is None
        if store is None:
            store = open_async_store(self._settings)
        elif isinstance(store, MemoryStore):
            store = AsyncMemoryStore(store)
        self._store: AsyncTokenStore = store
        self._http = httpx2.AsyncClient(
            transport=transport,
            timeout=httpx2.Timeout(self._settings.timeout),
            follow_redirects=False,  # a 3xx is a fault, see _replies._read
        )

    @property
    def store(self) -> AsyncTokenStore:
        """The store holding tokens, identities and revocations."""
        return self._store

    async def access_token(self) -> str:
        """A valid access token, fetched only when the cached one runs out."""
        return (await self.token()).value

    async def token(self) -> AccessToken:
        """Like :meth:`access_token`, with its remaining life (``expires_in``)."""
        return await self._run(self._gateway.access_token())

    async def resolve(self, identity_token: str) -> Identity:
        """Who ``identity_token`` belongs to, as the gateway says (or cached)."""
        return await self._run(self._gateway.resolve(identity_token))

    async def close(self) -> None:
        """Close the connection pool and a store this client opened."""
        if self._closed:
            return
        self._closed = True
        await self._http.aclose()
        if self._owns_store:
            await self._store.close()

    aclose = close

    async def __aenter__(self) -> AsyncGatewayClient:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the runner ----------------------------------------------------------

    async def _run(self, flow: Flow[T]) -> T:
        self._check_open()
        reply: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    effect = flow.send(reply) if error is None else flow.throw(error)
                except StopIteration as stop:
                    return cast(T, stop.value)
                try:
                    reply, error = await self._perform(effect), None
                except Exception as exc:
                    reply, error = None, exc
        finally:
            # Also on cancellation: the flow holds no resource of its own,
            # and a fleet lock it took expires by its TTL.
            flow.close()

    async def _perform(self, effect: Effect) -> Any:
        match effect:
            case Send():
                return await self._send(effect)
            case StoreCall(op=op, args=args):
                return await getattr(self._store, op)(*args)
            case Sleep(seconds=seconds):
                await anyio.sleep(seconds)
                return None
            case Exclusive(flow=inner):
                async with self._store.flight_lock:
                    return await self._run(inner)

    async def _send(self, call: Send) -> Reply | Failure:
        started = time.perf_counter()
        try:
            response = await self._http.send(call.request, stream=True)
            try:
                length = response.headers.get("content-length")
                reader = BodyReader(response.status_code, length, started)
                if reader.wants_more:
                    async for chunk in response.aiter_bytes():
                        if not reader.feed(chunk):
                            break
            finally:
                await response.aclose()
        except httpx2.HTTPError as exc:
            return Failure.since(exc, started)
        return reader.answer()


def _without_userinfo(settings: Settings) -> str:
    # A gateway URL may carry user:password@; a repr must not.
    parts = urlsplit(settings.gateway_url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))
