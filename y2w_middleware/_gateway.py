"""The gateway conversation without any I/O: requests, answers and decisions.

Both clients, sync and async, speak to the gateway through this module and
differ only in how they perform its *effects*. A flow (``Gateway.resolve``,
``Gateway.access_token``) is a generator: it yields an effect, such as
"send this request" or "ask the store for the token", and receives the
outcome. The decisions (cache check, one token call for a burst of callers,
retry once on a refused access token, the quota back-off) are written once,
here; ``_client.py`` holds two tiny runners that carry the effects out.

The effects a runner must perform:

- :class:`Send`: send the request, stream at most :data:`MAX_BODY` bytes of
  the answer through a :class:`BodyReader`, reply with an :class:`Answer`,
  or a :class:`Failure` when httpx2 raised.
- :class:`StoreCall`: call the store method of that name, reply its result.
- :class:`Sleep`: wait that many seconds.
- :class:`Exclusive`: run the inner flow while holding the store's
  ``flight_lock``, reply the inner flow's result.

An exception raised while performing an effect is thrown into the flow.

Reading answers: a 200 must be the documented JSON object; 401, 403 and 500
with an ``error`` code raise that code's ``GatewayError`` subclass (a plain
``GatewayError`` for codes the contract does not name). Everything else, a
redirect (never followed), an undocumented status, a body over 64 KiB, or
one that is not JSON, is ``GatewayUnavailable``. The contract prints its
500 bodies as JavaScript literals (``{ error: 'Identity_Token_Invalid' }``);
such a body is read leniently, for the two identity-token codes only.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Generator
from typing import Any, TypeAlias, TypeVar
from urllib.parse import quote

import httpx2

from ._identity import Identity
from ._logging import logger
from ._settings import Settings
from .errors import (
    AccessTokenError,
    CredentialError,
    GatewayError,
    GatewayUnavailable,
    InvalidIdentityToken,
    LimitExceeded,
    gateway_error,
)

__all__ = [
    "ACCOUNT_TEMPLATE",
    "LIMIT_BACKOFF",
    "MAX_BODY",
    "TOKEN_PATH",
    "AccessToken",
    "Answer",
    "BodyReader",
    "Effect",
    "Exclusive",
    "Failure",
    "Flow",
    "Gateway",
    "Send",
    "Sleep",
    "StoreCall",
    "parse_account",
    "parse_token",
]

T = TypeVar("T")

#: The two paths of the contract, as they may appear in a log line.
TOKEN_PATH = "/v1/token"
ACCOUNT_TEMPLATE = "/api/face-login/account/{token}"
#: The largest answer read: both documented answers are well under 1 KiB.
MAX_BODY = 64 * 1024

#: Seconds to stay away from the gateway after ``LimitExceeded``: the
#: contract says calling again at once will not help.
LIMIT_BACKOFF = 60
#: How often a process waiting for another one's token call re-reads the store.
POLL_INTERVAL = 0.05

_ACCOUNT_PATH = ACCOUNT_TEMPLATE.removesuffix("{token}")
_USER_AGENT = "y2w-middleware"


@dataclasses.dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token and when it stops working.

    :param value: the token itself; kept out of the repr.
    :param lifetime: the gateway's ``expires``, in seconds.
    :param expires_at: when it expires, in seconds since the epoch (a wall
        clock, so that processes sharing a store agree on it).
    """

    value: str = dataclasses.field(repr=False)
    lifetime: int
    expires_at: float

    @classmethod
    def issued(cls, value: str, lifetime: int, now: float | None = None) -> AccessToken:
        """A token the gateway has just issued for ``lifetime`` seconds."""
        issued_at = time.time() if now is None else now
        return cls(value=value, lifetime=lifetime, expires_at=issued_at + lifetime)

    @property
    def refresh_at(self) -> float:
        """When a new token is fetched: a minute early, or 10% of a short life."""
        return self.expires_at - min(60.0, self.lifetime / 10)

    @property
    def expires_in(self) -> int:
        """Whole seconds of life left, for the front-end's ``expires``."""
        return max(0, int(self.expires_at - time.time()))

    def is_fresh(self, now: float | None = None) -> bool:
        """Whether the token can still be used without fetching a new one."""
        return (time.time() if now is None else now) < self.refresh_at

    def __repr__(self) -> str:
        return f"AccessToken(value='***', lifetime={self.lifetime}, " + (
            f"expires_in={self.expires_in})"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Effect: send ``request``; reply with an :class:`Answer` or a :class:`Failure`.

    ``template`` is the path as it may be logged; ``sensitive`` lists the
    values of this call that must never show up in a message.
    """

    request: httpx2.Request = dataclasses.field(repr=False)
    template: str
    sensitive: tuple[str, ...] = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class StoreCall:
    """Effect: call the store method ``op`` with ``args``; reply its result."""

    op: str
    args: tuple[object, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Sleep:
    """Effect: wait ``seconds``; reply ``None``."""

    seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class Exclusive:
    """Effect: run ``flow`` holding the store's ``flight_lock``; reply its result."""

    flow: Flow[Any]


Effect: TypeAlias = Send | StoreCall | Sleep | Exclusive
#: A flow yields effects, is sent their outcomes and returns a ``T``.
Flow: TypeAlias = Generator[Effect, Any, T]


def _store(op: str, *args: object) -> Flow[Any]:
    return (yield StoreCall(op, args))


class Gateway:
    """The contract's two calls and every decision around them, as flows.

    One instance per client; it holds no state besides the settings, all
    state lives in the store so that it can be shared.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        base = settings.gateway_url
        self._token_url = base + TOKEN_PATH
        self._account_url = base + _ACCOUNT_PATH
        # The account path as httpx2 will send it, to check built paths against.
        self._account_raw_path = httpx2.URL(self._account_url).raw_path
        # The cross-process token lock must outlive one token call: the
        # timeout applies per phase (connect, write, read), hence the margin.
        self._lock_ttl = max(2.0, 3 * settings.timeout)
        # A request built outside a client carries no timeout of its own,
        # and a transport without one waits forever: set all four phases.
        self._extensions = {"timeout": httpx2.Timeout(settings.timeout).as_dict()}

    # -- building the two requests ----------------------------------------

    def token_request(self) -> Send:
        """Call 1: ``GET /v1/token`` with the three documented parameters."""
        secret = self.settings.secret.reveal()
        params = {
            "grant_type": "client_credential",  # singular, as the contract says
            "appid": self.settings.appid,
            "secret": secret,
        }
        request = httpx2.Request(
            "GET",
            self._token_url,
            params=params,
            headers=_headers(),
            extensions=self._extensions,
        )
        return Send(request, TOKEN_PATH, (secret,))

    def account_request(self, identity_token: str, access_token: str) -> Send:
        """Call 2: the identity token as one path segment, the access token
        as a Bearer credential."""
        self.check_identity_token(identity_token)

        # One percent-encoded segment: no "/", "?" or "#" can survive quote().
        url = httpx2.URL(self._account_url + quote(identity_token, safe=""))
        segment = url.raw_path.removeprefix(self._account_raw_path)
        if segment == url.raw_path or not segment or b"/" in segment:
            # Dot segments ("..") are folded away by URL normalisation.
            raise InvalidIdentityToken("identity token is not a valid path segment")

        headers = _headers(authorization=f"Bearer {access_token}")
        request = httpx2.Request(
            "GET", url, headers=headers, extensions=self._extensions
        )
        return Send(request, ACCOUNT_TEMPLATE, (identity_token, access_token))

    def check_identity_token(self, identity_token: str) -> None:
        """Refuse a token of the wrong shape before any store or network use."""
        # fullmatch: with re.match, "$" would also accept a trailing newline.
        if not isinstance(
            identity_token, str
        ) or not self.settings.token_regex.fullmatch(identity_token):
            raise InvalidIdentityToken()

    # -- flows -------------------------------------------------------------

    def access_token(self) -> Flow[AccessToken]:
        """A fresh access token: from the store, or one call for all callers."""
        token = yield from self._cached_token()
        if token is not None:
            logger.debug("access token: cache hit")
            return token

        logger.debug("access token: cache miss")
        refreshed: AccessToken = yield Exclusive(self._refresh_token())
        return refreshed

    def resolve(self, identity_token: str) -> Flow[Identity]:
        """Who ``identity_token`` belongs to: from the store, or one call
        (two when the access token was refused and a new one fixed it)."""
        self.check_identity_token(identity_token)

        cached: Identity | None = yield from _store("get_identity", identity_token)
        if cached is not None:
            logger.debug("identity: cache hit")
            return cached
        logger.debug("identity: cache miss")

        token = yield from self.access_token()
        try:
            identity: Identity | None = yield from self._lookup(identity_token, token)
        except AccessTokenError as exc:
            logger.debug(
                "access token refused (%s); fetching a new one and retrying once",
                exc.code,
            )
            identity = None

        if identity is None:
            # Compare-and-drop: a token another caller already replaced stays.
            yield from _store("drop_token", token.value)
            token = yield from self.access_token()
            identity = yield from self._lookup(identity_token, token)

        yield from _store("put_identity", identity_token, identity)
        return identity

    # -- steps of the flows -------------------------------------------------

    def _cached_token(self) -> Flow[AccessToken | None]:
        token: AccessToken | None = yield StoreCall("get_token")
        if token is not None and token.is_fresh():
            return token
        return None

    def _refresh_token(self) -> Flow[AccessToken]:
        # Runs under the store's flight lock: the callers that queued behind
        # the first one find its token here (the double check) and make no call.
        token = yield from self._cached_token()
        if token is not None:
            logger.debug("access token: fetched meanwhile by another caller")
            return token

        owner = secrets.token_hex(8)
        fetched_elsewhere = yield from self._wait_for_fleet_lock(owner)
        if fetched_elsewhere is not None:
            return fetched_elsewhere

        try:
            token = yield from self._cached_token()
            if token is None:
                token = yield from self._exchange(self.token_request(), parse_token)
                yield from _store("put_token", token)
                logger.debug("access token: stored a new one for %d s", token.lifetime)
        except Exception:
            # Not in a finally: a flow closed mid-way must not yield. A lock
            # left behind by a cancelled call expires by its own TTL.
            yield from _store("release_token_lock", owner)
            raise
        yield from _store("release_token_lock", owner)
        return token

    def _wait_for_fleet_lock(self, owner: str) -> Flow[AccessToken | None]:
        """The token another process fetched meanwhile, or None once this
        caller holds the fleet lock (or has waited as long as it can live)."""
        # Only a shared store can say "no": another process is fetching. Its
        # token shows up in the store soon; the lock's TTL bounds the wait.
        polls = int(self._lock_ttl / POLL_INTERVAL) + 1
        for _ in range(polls):
            if (yield from _store("acquire_token_lock", owner, self._lock_ttl)):
                return None
            logger.debug("access token: another process is fetching it; waiting")
            yield Sleep(POLL_INTERVAL)
            token = yield from self._cached_token()
            if token is not None:
                return token
        logger.debug("access token: fleet lock still held after its TTL; fetching")
        return None

    def _lookup(self, identity_token: str, token: AccessToken) -> Flow[Identity]:
        call = self.account_request(identity_token, token.value)
        identity = yield from self._exchange(call, parse_account)

        # The contract says ``id`` echoes the identity token: an answer about
        # another token would attach the wrong person to this login.
        if not hmac.compare_digest(identity.id.encode(), identity_token.encode()):
            raise GatewayUnavailable("account answer is about another identity token")
        return identity

    def _exchange(
        self, call: Send, parse: Callable[[Answer, tuple[str, ...]], T]
    ) -> Flow[T]:
        remaining: float = yield StoreCall("backoff_remaining")
        if remaining > 0:
            logger.debug("quota back-off: %d s left, gateway not called", remaining)
            raise _limit_exceeded(remaining)

        outcome: Answer | Failure = yield call
        if isinstance(outcome, Failure):
            name = type(outcome.error).__name__
            logger.warning(
                "gateway GET %s failed after %d ms: %s",
                call.template,
                outcome.elapsed_ms,
                name,
            )
            # The class name only: httpx2's messages may carry the URL.
            raise GatewayUnavailable(
                f"gateway call {call.template} failed: {name}"
            ) from outcome.error

        logger.info(
            "gateway GET %s -> HTTP %d in %d ms",
            call.template,
            outcome.status,
            outcome.elapsed_ms,
        )
        try:
            return parse(outcome, call.sensitive)
        except LimitExceeded as exc:
            yield from _store("set_backoff", float(LIMIT_BACKOFF))
            exc.retry_after = LIMIT_BACKOFF
            raise
        except CredentialError as exc:
            logger.error(
                "gateway refused the application's credentials on %s: %s "
                "(HTTP %d); check Y2W_APPID and Y2W_SECRET",
                call.template,
                exc.code,
                exc.status,
            )
            raise


def _headers(**extra: str) -> dict[str, str]:
    return {"Accept": "application/json", "User-Agent": _USER_AGENT, **extra}


def _limit_exceeded(remaining: float) -> LimitExceeded:
    retry_after = max(1, int(remaining + 0.999))
    return LimitExceeded(
        "LimitExceeded", 403, "已超出用量限制 (back-off)", retry_after=retry_after
    )


# -- reading answers ---------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    """An answer as read off the wire, its body capped at :data:`MAX_BODY`."""

    status: int
    body: bytes = dataclasses.field(repr=False)
    elapsed_ms: float
    oversized: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """No usable answer: httpx2 raised ``error`` (network, timeout, protocol)."""

    error: Exception
    elapsed_ms: float

    @classmethod
    def since(cls, error: Exception, started: float) -> Failure:
        """The failure of a call started at ``started`` (``perf_counter``)."""
        return cls(error, _elapsed_ms(started))


class BodyReader:
    """Collects an answer's body and stops past :data:`MAX_BODY` bytes.

    A runner feeds it chunks while :meth:`feed` returns True, then calls
    :meth:`answer`. A ``Content-Length`` over the cap stops it before the
    first chunk.
    """

    def __init__(self, status: int, content_length: str | None, started: float) -> None:
        self.status = status
        self._started = started
        self._chunks: list[bytes] = []
        self._size = 0
        self.oversized = _declared_length(content_length) > MAX_BODY

    @property
    def wants_more(self) -> bool:
        """False once the body is known to be too large."""
        return not self.oversized

    def feed(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False when the cap is passed and reading must stop."""
        self._size += len(chunk)
        if self._size > MAX_BODY:
            self.oversized = True
            self._chunks.clear()
            return False
        self._chunks.append(chunk)
        return True

    def answer(self) -> Answer:
        """The answer read so far."""
        body = b"".join(self._chunks)
        return Answer(self.status, body, _elapsed_ms(self._started), self.oversized)


def parse_token(answer: Answer, sensitive: tuple[str, ...] = ()) -> AccessToken:
    """Call 1's answer as an :class:`AccessToken`, or raise what it means."""
    data = _read(answer, TOKEN_PATH, sensitive)
    value, lifetime = data.get("accessToken"), data.get("expires")

    if not isinstance(value, str) or not _ACCESS_TOKEN_SHAPE.fullmatch(value):
        raise GatewayUnavailable("token answer has no valid 'accessToken'", status=200)
    # bool is an int in Python; a lifetime of True seconds is still malformed.
    if type(lifetime) is not int or lifetime <= 0:
        raise GatewayUnavailable("token answer has no valid 'expires'", status=200)
    return AccessToken.issued(value, lifetime)


def parse_account(answer: Answer, sensitive: tuple[str, ...] = ()) -> Identity:
    """Call 2's answer as an :class:`Identity`, or raise what it means."""
    return Identity.from_gateway(_read(answer, ACCOUNT_TEMPLATE, sensitive))


#: Access tokens travel in a header: visible ASCII only, and not too long.
_ACCESS_TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,1024}")
#: Vendor codes look like ``SecretIsInvalid`` or ``Identity_Token_In_Expire``.
_CODE_SHAPE = re.compile(r"[A-Za-z0-9_]{1,64}")
#: The statuses with documented error bodies (401 and 500 only on call 2,
#: but a code is a code: it is reported whichever call it came from).
_ERROR_STATUSES = frozenset({401, 403, 500})
#: The contract prints 500 bodies as JavaScript object literals, e.g.
#: ``{ status: 500, error: 'Identity_Token_Invalid', message: '...' }``.
_JS_FIELD = re.compile(r"""\b(error|message)\s*:\s*(['"])(.*?)\2""")
_JS_CODES = frozenset({"Identity_Token_Invalid", "Identity_Token_In_Expire"})


def _read(answer: Answer, template: str, sensitive: tuple[str, ...]) -> dict[str, Any]:
    status = answer.status
    if answer.oversized:
        raise GatewayUnavailable(
            f"{template} answer is larger than {MAX_BODY // 1024} KiB", status=status
        )
    if 300 <= status < 400:
        raise GatewayUnavailable(
            f"{template} answered a redirect (HTTP {status}), which is not followed",
            status=status,
        )
    if status in _ERROR_STATUSES:
        raise _error_from(answer, template, sensitive)
    if status != 200:
        raise GatewayUnavailable(
            f"{template} answered an undocumented HTTP {status}", status=status
        )

    data = _json(answer.body)
    if not isinstance(data, dict):
        raise GatewayUnavailable(f"{template} answer is not a JSON object", status=200)
    return data


def _error_from(
    answer: Answer, template: str, sensitive: tuple[str, ...]
) -> GatewayError | GatewayUnavailable:
    data = _json(answer.body)
    if not isinstance(data, dict) and answer.status == 500:
        # The vendor's document shows 500 bodies with unquoted keys. Only
        # the two identity-token codes are recognised in that form, so a
        # proxy's error page never passes for a gateway verdict.
        fields = {m[1]: m[3] for m in _JS_FIELD.finditer(_text(answer.body))}
        if fields.get("error") in _JS_CODES:
            data = fields

    code = data.get("error") if isinstance(data, dict) else None
    if not isinstance(code, str) or not _CODE_SHAPE.fullmatch(code):
        return GatewayUnavailable(
            f"{template} answered HTTP {answer.status} without a valid error body",
            status=answer.status,
        )
    assert isinstance(data, dict)  # for mypy: a code was found in it
    message = data.get("message")
    text = _clean(message if isinstance(message, str) else "", sensitive)
    return gateway_error(code, answer.status, text)


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and bytes that are not UTF-8.
        return None


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _clean(message: str, sensitive: tuple[str, ...]) -> str:
    # The vendor's message ends up in exception messages and logs: keep it
    # short, printable, and free of anything this call must not reveal.
    for value in sensitive:
        if value:
            message = message.replace(value, "[secure]")
    message = "".join(c if c.isprintable() else " " for c in message)
    return message[:200]


def _declared_length(content_length: str | None) -> int:
    if content_length is None or not content_length.strip().isdigit():
        return 0
    return int(content_length)


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
