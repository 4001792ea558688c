"""``Y2WWSGIMiddleware``: the WSGI adapter (Flask, Django, any WSGI app).

The twin of the ASGI adapter: it turns the environ into a ``RequestView``,
performs the core's effects with plain calls, and sends the ``Answer`` or
calls the app. Every decision is in ``_core``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.authentication import BaseUser

from ._adapter import (
    UserLoader,
    build_settings,
    check_user_loader,
    is_async_callable,
    query_mentions,
)
from ._answers import Answer, Headers, gateway_failure
from ._client import GatewayClient
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
from ._request import ENVIRON_CORE, ENVIRON_USER, current_request
from ._settings import Settings
from ._store import open_store
from .errors import Y2WError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["Y2WWSGIMiddleware"]

_REASONS = {
    200: "OK",
    204: "No Content",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    405: "Method Not Allowed",
    413: "Content Too Large",
    503: "Service Unavailable",
}


class Y2WWSGIMiddleware:
    """Face login for a WSGI app; the same arguments as ``Y2WMiddleware``.

    ``user_loader`` must be a plain function here: a WSGI server has no
    event loop to run a coroutine on.
    """

    def __init__(
        self,
        app: WSGIApplication,
        /,
        settings: Settings | None = None,
        user_loader: UserLoader | None = None,
        *,
        client: GatewayClient | None = None,
        **overrides: Any,
    ) -> None:
        check_user_loader(user_loader)
        if is_async_callable(user_loader):
            raise TypeError(
                "an async user_loader needs the ASGI Y2WMiddleware; "
                "give Y2WWSGIMiddleware a plain function"
            )
        settings = build_settings(settings, overrides)

        self.app = app
        self.settings = settings
        self.core = Core(settings, has_user_loader=user_loader is not None)
        self.store = open_store(settings)
        self.client = client or GatewayClient(settings, store=self.store)
        self._loader = user_loader
        self._token_environ = "HTTP_" + settings.token_header.upper().replace("-", "_")
        # Bound once: the hot path should not walk attribute chains.
        self._token_param = settings.token_param
        self._routes = self.core.routes
        self._read_cookie = self.core.read_cookie

    def close(self) -> None:
        """Close the gateway client (also one handed in) and the store.

        WSGI has no shutdown event: call it from the server's exit hook, or
        let the process end.
        """
        self.client.close()
        self.store.close()

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        query: str = environ.get("QUERY_STRING", "")
        has_token_header = self._token_environ in environ
        if (
            has_token_header
            or (query and query_mentions(query, self._token_param))
            or path in self._routes
        ):
            return self._flow(environ, start_response)

        # The hot path: a plain request, perhaps with a session cookie.
        user, headers = self._read_cookie(environ.get("HTTP_COOKIE"))
        if user is not None:
            try:
                revoked = self.store.is_revoked(user.session_id)
            except Y2WError as exc:
                return _send_answer(start_response, gateway_failure(exc), environ)
            if revoked:
                user, headers = None, self.core.revoked_headers()
        return self._call_app(environ, start_response, user or ANONYMOUS, headers)

    def _flow(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        outcome = self._drive(self.core.flow(_view(environ)), environ)
        if isinstance(outcome, Answer):
            return _send_answer(start_response, outcome, environ)
        if outcome.query is not None:
            _replace_query(environ, outcome.query)
        return self._call_app(environ, start_response, outcome.user, outcome.headers)

    def _call_app(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        user: BaseUser,
        headers: Headers,
    ) -> Iterable[bytes]:
        environ[ENVIRON_USER] = user
        environ[ENVIRON_CORE] = self.core

        def start_with_headers(
            status: str, app_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            return start_response(status, _merge(app_headers, headers), exc_info)

        token = current_request.set(environ)
        try:
            return self.app(environ, start_with_headers)
        finally:
            current_request.reset(token)

    def _drive(self, flow: Flow, environ: WSGIEnvironment) -> Answer | Proceed:
        step = advance(flow, None, None)
        while not isinstance(step, Answer | Proceed):
            try:
                result, failure = self._perform(step, environ), None
            except Y2WError as exc:
                result, failure = None, exc
            step = advance(flow, result, failure)
        return step

    def _perform(self, effect: Effect, environ: WSGIEnvironment) -> Any:
        if isinstance(effect, ReadBody):
            return _read_body(environ, effect.limit)
        if isinstance(effect, Resolve):
            return self.client.resolve(effect.token)
        if isinstance(effect, LoadUser):
            assert self._loader is not None
            return self._loader(effect.identity)
        if isinstance(effect, IsRevoked):
            return self.store.is_revoked(effect.session_id)
        if isinstance(effect, Revoke):
            return self.store.revoke(effect.session_id, effect.ttl)
        if isinstance(effect, FetchAccessToken):
            return self.client.token()
        raise AssertionError(f"unknown effect {effect!r}")


def _view(environ: WSGIEnvironment) -> RequestView:
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return RequestView(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", ""),
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
    )


def _replace_query(environ: WSGIEnvironment, query: str) -> None:
    environ["QUERY_STRING"] = query
    # Servers that keep the raw request line keep the token in it too.
    for key in ("REQUEST_URI", "RAW_URI"):
        if key in environ:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            environ[key] = f"{path}?{query}" if query else path


def _merge(app_headers: list[tuple[str, str]], extra: Headers) -> list[tuple[str, str]]:
    # A header the app set already wins: it chose its own caching, and an
    # answer built by login_required carries our Vary already.
    merged = list(app_headers)
    skip = set()
    for name, value in merged:
        lowered = name.lower()
        vary_cookie = lowered == "vary" and "cookie" in value.lower()
        if lowered == "cache-control" or vary_cookie:
            skip.add(lowered)
    merged.extend(pair for pair in extra if pair[0] not in skip)
    return merged


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > limit:
        return None
    if length <= 0:
        return b""
    body: bytes = environ["wsgi.input"].read(length)
    return body


def _send_answer(
    start_response: StartResponse, answer: Answer, environ: WSGIEnvironment
) -> Iterable[bytes]:
    status = f"{answer.status} {_REASONS.get(answer.status, 'Unknown')}"
    headers = [*answer.headers, ("content-length", str(len(answer.body)))]
    if answer.status not in (204, 304) and not _has_content_type(answer.headers):
        # PEP 3333 checkers (wsgiref.validate) want a type on every answer
        # that may have a body, an empty 303 included.
        headers.append(("content-type", "text/plain; charset=utf-8"))
    start_response(status, headers)
    if environ.get("REQUEST_METHOD") == "HEAD":
        return [b""]
    return [answer.body]


def _has_content_type(headers: Headers) -> bool:
    return any(name.lower() == "content-type" for name, _ in headers)
