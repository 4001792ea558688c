"""``Y2WMiddleware``: the ASGI adapter (Starlette, FastAPI, any ASGI app).

It only translates: ASGI messages go in as a ``RequestView``, the core's
effects are performed with ``await``, and its ``Answer`` or ``Proceed``
goes out as ASGI messages. Every decision is in ``_core``.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.authentication import AuthCredentials, BaseUser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._adapter import (
    UserLoader,
    build_settings,
    check_user_loader,
    is_async_callable,
    query_mentions,
)
from ._answers import ANSWER_HEADER, Answer, Headers, error, gateway_failure
from ._client import AsyncGatewayClient
from ._core import Core
from ._flow import (
    ANONYMOUS,
    Effect,
    FetchAccessToken,
    Flow,
    IsRevoked,
    LoadUser,
    Proceed,
    ReadBody,
    RequestView,
    Resolve,
    Revoke,
    advance,
)
from ._request import SCOPE_CORE, current_request
from ._settings import Settings
from ._store import AsyncMemoryStore, open_async_store
from .errors import Y2WError

__all__ = ["Y2WMiddleware"]

RawHeaders = list[tuple[bytes, bytes]]

_AUTHENTICATED = AuthCredentials(["authenticated"])
_UNAUTHENTICATED = AuthCredentials()
_ANSWER_HEADER = ANSWER_HEADER.encode("latin-1")


class Y2WMiddleware:
    """Face login for an ASGI app.

    :param app: the ASGI app to protect.
    :param settings: the settings; ``None`` reads ``Y2W_*`` variables.
    :param user_loader: ``identity -> user or None``, sync or async; it runs
        at login only, and ``None`` from it means the person is unknown. With
        no loader at all, everyone the gateway recognises is let in.
    :param client: a gateway client to use instead of building one; the
        middleware closes it with itself.
    :param overrides: settings by keyword (``login_url="/login"``, ...).
    """

    def __init__(
        self,
        app: ASGIApp,
        /,
        settings: Settings | None = None,
        user_loader: UserLoader | None = None,
        *,
        client: AsyncGatewayClient | None = None,
        **overrides: Any,
    ) -> None:
        check_user_loader(user_loader)
        settings = build_settings(settings, overrides)

        self.app = app
        self.settings = settings
        self.core = Core(settings, has_user_loader=user_loader is not None)
        self.store = open_async_store(settings)
        self.client = client or AsyncGatewayClient(settings, store=self.store)
        self._loader = user_loader
        self._loader_is_async = is_async_callable(user_loader)
        self._token_header = settings.token_header.lower().encode("latin-1")
        self._token_param = settings.token_param.encode("latin-1")
        # Bound once: the hot path should not walk attribute chains.
        self._routes = self.core.routes
        self._read_cookie = self.core.read_cookie
        # An in-process store answers at once: no need for a coroutine.
        self._revoked_now = (
            self.store.memory.is_revoked
            if isinstance(self.store, AsyncMemoryStore)
            else None
        )
        self._encoded = {
            id(headers): (_encode(headers), headers)
            for headers in self.core.constant_headers
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                await self._websocket(scope, receive, send)
            elif kind == "lifespan":
                await self.app(scope, receive, self._closing_on_shutdown(send))
            else:
                await self.app(scope, receive, send)
            return

        cookie, token_header = self._read_headers(scope)
        query: bytes = scope["query_string"]
        if (
            token_header
            or (query and query_mentions(query, self._token_param))
            or scope["path"] in self._routes
        ):
            await self._flow(scope, receive, send)
            return

        # The hot path: a plain request, perhaps with a session cookie.
        user, headers = self._read_cookie(cookie)
        if user is not None:
            try:
                if self._revoked_now is not None:
                    revoked = self._revoked_now(user.session_id)
                else:
                    revoked = await self.store.is_revoked(user.session_id)
            except Y2WError as exc:
                await _send_answer(send, gateway_failure(exc))
                return
            if revoked:
                user, headers = None, self.core.revoked_headers()
        await self._call_app(scope, receive, send, user or ANONYMOUS, headers)

    def _read_headers(self, scope: Scope) -> tuple[str | None, bool]:
        cookie: bytes | None = None
        token_header = False
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value if cookie is None else cookie + b"; " + value
            elif name == self._token_header:
                token_header = True
        return (None if cookie is None else cookie.decode("latin-1")), token_header

    async def _flow(self, scope: Scope, receive: Receive, send: Send) -> None:
        outcome = await self._drive(self.core.flow(_view(scope)), receive)
        if isinstance(outcome, Answer):
            await _send_answer(send, outcome)
            return
        if outcome.query is not None:
            scope = dict(scope, query_string=outcome.query.encode("latin-1"))
        await self._call_app(scope, receive, send, outcome.user, outcome.headers)

    async def _call_app(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        user: BaseUser,
        headers: Headers,
    ) -> None:
        scope["user"] = user
        scope["auth"] = _UNAUTHENTICATED if user is ANONYMOUS else _AUTHENTICATED
        scope[SCOPE_CORE] = self.core
        cached = self._encoded.get(id(headers))
        extra = cached[0] if cached is not None and cached[1] is headers else None
        if extra is None:
            extra = _encode(headers)

        replaced = False

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the app's body of an answer we replaced
            if message["type"] == "http.response.start":
                headers, code = _merge(message.get("headers", ()), extra)
                if code is not None:
                    replaced = True
                    await _send_answer(send, error(code, message["status"]))
                    return
                message["headers"] = headers
            await send(message)

        token = current_request.set(scope)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_request.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A websocket handshake cannot set cookies: it only gets the user.
        cookie, _ = self._read_headers(scope)
        user, _ = self.core.read_cookie(cookie)
        if user is not None and await self._revoked_or_unknown(user.session_id):
            user = None
        scope["user"] = user or ANONYMOUS
        scope["auth"] = _AUTHENTICATED if user is not None else _UNAUTHENTICATED
        scope[SCOPE_CORE] = self.core
        token = current_request.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            current_request.reset(token)

    async def _revoked_or_unknown(self, session_id: str) -> bool:
        # Fail closed: a socket whose session cannot be checked is anonymous.
        try:
            return await self.store.is_revoked(session_id)
        except Y2WError:
            return True

    async def _drive(self, flow: Flow, receive: Receive) -> Answer | Proceed:
        step = advance(flow, None, None)
        while not isinstance(step, Answer | Proceed):
            try:
                result, failure = await self._perform(step, receive), None
            except Y2WError as exc:
                result, failure = None, exc
            step = advance(flow, result, failure)
        return step

    async def _perform(self, effect: Effect, receive: Receive) -> Any:
        if isinstance(effect, ReadBody):
            return await _read_body(receive, effect.limit)
        if isinstance(effect, Resolve):
            return await self.client.resolve(effect.token)
        if isinstance(effect, LoadUser):
            return await self._load_user(effect)
        if isinstance(effect, IsRevoked):
            return await self.store.is_revoked(effect.session_id)
        if isinstance(effect, Revoke):
            return await self.store.revoke(effect.session_id, effect.ttl)
        if isinstance(effect, FetchAccessToken):
            return await self.client.token()
        raise AssertionError(f"unknown effect {effect!r}")

    async def _load_user(self, effect: LoadUser) -> Any:
        assert self._loader is not None
        if self._loader_is_async:
            return await self._loader(effect.identity)
        # A sync loader likely hits a database: keep it off the event loop.
        return await anyio.to_thread.run_sync(self._loader, effect.identity)

    async def close(self) -> None:
        """Close the gateway client (also one handed in) and the store.

        Called by itself at lifespan shutdown; call it when the server runs
        no lifespan.
        """
        await self.client.close()
        await self.store.close()

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def send_and_close(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.close()
            await send(message)

        return send_and_close


def _encode(headers: Headers) -> RawHeaders:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _view(scope: Scope) -> RequestView:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if name in headers:
            joiner = "; " if name == "cookie" else ", "
            value = headers[name] + joiner + value
        headers[name] = value
    return RequestView(
        method=scope["method"],
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        headers=headers,
    )


def _merge(app_headers: Any, extra: RawHeaders) -> tuple[RawHeaders, str | None]:
    # A header the app set already wins: it chose its own caching, and an
    # answer built by login_required carries our Vary already. ASGI header
    # names are lower-case by the spec, so they are compared as they are.
    skip_cache = skip_vary = False
    code = None
    for name, value in app_headers:
        if name == b"cache-control":
            skip_cache = True
        elif name == b"vary" and b"cookie" in value.lower():
            skip_vary = True
        elif name == _ANSWER_HEADER:
            code = value.decode("latin-1")
    if skip_cache or skip_vary:
        skipped = {b"cache-control"} if skip_cache else set()
        if skip_vary:
            skipped.add(b"vary")
        extra = [pair for pair in extra if pair[0] not in skipped]
    return [*app_headers, *extra], code


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send_answer(send: Send, answer: Answer) -> None:
    headers = _encode(answer.headers)
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send(
        {"type": "http.response.start", "status": answer.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": answer.body})
