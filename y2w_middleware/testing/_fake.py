"""FakeGateway: the yun2win gateway contract, in memory, with its controls.

Every request goes through one framework-neutral method, ``handle``, which
routes it, counts it, plays any injected fault and lets ``_state.py`` answer
by the contract. The ASGI, WSGI, served and httpx2-transport faces in
``_faces.py`` and ``_server.py`` only translate to and from it, so they
share one state and give byte-identical answers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import unquote

from . import _faces, _server
from ._contract import Reply, method_not_allowed, new_token, not_found
from ._faults import Endpoint, Fault, Injection, Target, fault_reply, take
from ._state import EXPIRED, GatewayState, Person

__all__ = [
    "FakeGateway",
]

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    import httpx2

    from ._faces import Receive, Scope, Send

_TOKEN_PATH: Final = "/v1/token"
_ACCOUNT_PREFIX: Final = "/api/face-login/account/"


class FakeGateway:
    """An in-memory yun2win gateway that speaks the vendor's contract.

    ``FakeGateway()`` works as is, with demo credentials. Reach it through
    :meth:`transport` (an ``httpx2.MockTransport`` for sync and async
    clients), :meth:`asgi`, :meth:`wsgi`, or :meth:`serve` (real HTTP on
    127.0.0.1). Every face shares this object's state, and every control
    method is safe to call while a served face answers in another thread.

    Time is ``clock() + offset``: pass a ``clock`` or call :meth:`advance`
    to move it without sleeping.
    """

    def __init__(
        self,
        appid: str = "demo-appid",
        secret: str = "demo-secret-not-for-production",  # noqa: S107 - demo only
        *,
        token_ttl: int = 7200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if token_ttl <= 0:
            raise ValueError("token_ttl must be a positive number of seconds")

        # One lock guards all state below: the served face answers each
        # request in its own thread while the test drives the controls.
        self._lock = threading.Lock()
        self._state = GatewayState(appid, secret, token_ttl, clock)
        self._faults: list[Injection] = []
        self._calls = {"token": 0, "account": 0, "other": 0}

    @property
    def appid(self) -> str:
        """The application id the token endpoint accepts."""
        return self._state.appid

    @property
    def secret(self) -> str:
        """The application secret the token endpoint accepts."""
        return self._state.secret

    @property
    def token_ttl(self) -> int:
        """Lifetime of issued access tokens, in seconds (``expires``)."""
        return self._state.token_ttl

    def __repr__(self) -> str:
        # The secret and the tokens stay out: reprs end up in test reports.
        return f"FakeGateway(appid={self.appid!r}, secret='[secure]')"

    # -- the core ---------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> Reply:
        """Answer one request: the whole contract, independent of any framework.

        ``path`` is the raw, still percent-encoded path, so an identity token
        holding ``%2F`` stays one segment; ``query`` is the raw query string
        without ``?``; header names may be in any case.
        """
        endpoint, segment = _route(path)
        lowered = {name.lower(): value for name, value in headers.items()}

        with self._lock:
            self._calls[endpoint] += 1
            if endpoint == "other":
                return not_found()

            injection = take(self._faults, endpoint)
            if injection is not None and injection.fault is not Fault.DELAY:
                return fault_reply(injection.fault)

            if method.upper() != "GET":
                reply = method_not_allowed()
            elif endpoint == "token":
                reply = self._state.token(query)
            else:
                authorization = lowered.get("authorization", "")
                reply = self._state.account(segment, authorization)

        if injection is not None:
            return dataclasses.replace(reply, delay=injection.seconds)
        return reply

    # -- controls: people and tokens --------------------------------------

    def issue_identity_token(
        self, uid: str, name: str, *, ttl: float = 300, token: str | None = None
    ) -> str:
        """Recognise a face, as the vendor's component would: return its token.

        The token resolves to ``uid`` and ``name`` for ``ttl`` seconds (the
        vendor's example lives five minutes; ``ttl=0`` is born expired).
        Pass ``token`` to choose its value instead of a random one.
        """
        if ttl < 0:
            raise ValueError("ttl must not be negative")

        token = new_token() if token is None else token
        with self._lock:
            now = self._state.now()
            self._state.people[token] = Person(uid, name, now, now + ttl)
        return token

    def issue_access_token(self) -> str:
        """A valid access token, without a call to the token endpoint."""
        with self._lock:
            return self._state.grant_access_token()

    def expire_access_tokens(self, *tokens: str) -> None:
        """Make ``tokens`` (all issued ones if none given) expired."""
        with self._lock:
            issued = self._state.access_tokens
            for token in tokens or list(issued):
                if token in issued:
                    issued[token] = EXPIRED

    def revoke_access_tokens(self, *tokens: str) -> None:
        """Forget ``tokens`` (all issued ones if none given): they turn invalid."""
        with self._lock:
            issued = self._state.access_tokens
            for token in tokens or list(issued):
                issued.pop(token, None)

    def expire_identity_tokens(self, *tokens: str) -> None:
        """Make ``tokens`` (all issued ones if none given) expired."""
        with self._lock:
            people = self._state.people
            for token in tokens or list(people):
                if token in people:
                    people[token] = dataclasses.replace(
                        people[token], expires_at=EXPIRED
                    )

    def advance(self, seconds: float) -> None:
        """Move the gateway's time forward, as if ``seconds`` had passed."""
        with self._lock:
            self._state.offset += seconds

    # -- controls: the application's standing -----------------------------

    def disable_secret(self) -> None:
        """Both endpoints refuse with 403 ``SecretHasDisabled``."""
        with self._lock:
            self._state.disabled = True

    def enable_secret(self) -> None:
        """Undo :meth:`disable_secret`."""
        with self._lock:
            self._state.disabled = False

    def set_secret_error(self, on: bool = True) -> None:
        """Both endpoints refuse with 403 ``SecretError`` while ``on``."""
        with self._lock:
            self._state.secret_error = on

    def set_quota(self, calls: int | None) -> None:
        """Allow ``calls`` more successful calls, then 403 ``LimitExceeded``.

        Failed calls are free; ``None`` lifts the limit.
        """
        if calls is not None and calls < 0:
            raise ValueError("quota must not be negative")
        with self._lock:
            self._state.quota = calls

    @property
    def quota(self) -> int | None:
        """Successful calls left, or None when unlimited."""
        with self._lock:
            return self._state.quota

    # -- controls: faults and counters ------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        endpoint: Target = "any",
        times: int | None = 1,
        seconds: float = 0.0,
    ) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``fault``.

        ``times=None`` keeps the fault until :meth:`clear_faults`. Faults act
        in injection order, one per request. ``seconds`` is for
        ``Fault.DELAY`` only, and required there.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for always")
        if endpoint not in ("any", "token", "account"):
            raise ValueError(f"unknown endpoint {endpoint!r}")
        if (fault is Fault.DELAY) != (seconds > 0):
            raise ValueError("seconds must be positive for Fault.DELAY only")

        with self._lock:
            self._faults.append(Injection(fault, endpoint, times, seconds))

    def clear_faults(self) -> None:
        """Drop every injected fault: the contract speaks again."""
        with self._lock:
            self._faults.clear()

    @property
    def calls(self) -> dict[str, int]:
        """Requests received so far, failed ones included, by endpoint.

        Keys: ``"token"``, ``"account"``, and ``"other"`` for unknown paths.
        A snapshot: later requests do not change the returned dict.
        """
        with self._lock:
            return dict(self._calls)

    def reset_counts(self) -> None:
        """Set every counter in :attr:`calls` back to zero."""
        with self._lock:
            self._calls = dict.fromkeys(self._calls, 0)

    # -- faces --------------------------------------------------------------

    def transport(self) -> httpx2.MockTransport:
        """An httpx2 transport to this gateway, for ``Client`` and ``AsyncClient``.

        A delayed answer longer than the request's read timeout raises
        ``httpx2.ReadTimeout``, as a real network would.
        """
        return _faces.FakeTransport(self.handle)

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """This gateway as an ASGI application (HTTP and lifespan)."""
        await _faces.asgi(self.handle, scope, receive, send)

    def wsgi(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        """This gateway as a WSGI application."""
        return _faces.wsgi(self.handle, environ, start_response)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve over real HTTP in a background thread; yield the base URL.

        ``host`` is an IPv4 address; ``port=0`` picks a free port. The server
        stops when the block ends.
        """
        with _server.serve(self.wsgi, host, port) as base_url:
            yield base_url


def _route(path: str) -> tuple[Endpoint | Literal["other"], str]:
    """Which endpoint ``path`` names, and the decoded identity token if any."""
    if path == _TOKEN_PATH:
        return "token", ""

    if path.startswith(_ACCOUNT_PREFIX):
        segment = path[len(_ACCOUNT_PREFIX) :]
        # Split before decoding: ``%2F`` inside a token is not a separator.
        if segment and "/" not in segment:
            return "account", unquote(segment)
    return "other", ""
