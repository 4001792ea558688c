"""The gateway conversation without any I/O: the decisions, written once.

Both clients, sync and async, speak to the gateway through the flows of
:class:`Gateway` and differ only in how they perform the flows' effects
(``_effects.py``). The decisions are made here: the cache check, one token
call for a burst of callers (and, with Redis, for a fleet of processes),
retry once on a refused access token, and the quota back-off. The requests
themselves are built by ``_calls.py`` and the answers read by
``_replies.py``; ``_client.py`` holds the two runners.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from ._calls import Calls
from ._effects import Exclusive, Flow, Send, Sleep, StoreCall
from ._identity import Identity
from ._logging import logger
from ._replies import Failure, Reply, parse_account, parse_token
from ._settings import Settings
from ._token import AccessToken
from .errors import (
    AccessTokenError,
    CredentialError,
    GatewayUnavailable,
    LimitExceeded,
)

__all__ = ["LIMIT_BACKOFF", "POLL_INTERVAL", "Gateway"]

T = TypeVar("T")

#: Seconds to stay away from the gateway after ``LimitExceeded``: the
#: contract says calling again at once will not help.
LIMIT_BACKOFF = 60
#: How often a process waiting for another one's token call re-reads the store.
POLL_INTERVAL = 0.05


def _store(op: str, *args: object) -> Flow[Any]:
    return (yield StoreCall(op, args))


class Gateway(Calls):
    """The contract's two calls and every decision around them, as flows.

    One instance per client; it holds no state besides the settings, all
    state lives in the store so that it can be shared. The requests are
    built by :class:`~._calls.Calls`, which it extends.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # The cross-process token lock must outlive one token call: the
        # timeout applies per phase (connect, write, read), hence the margin.
        self._lock_ttl = max(2.0, 3 * settings.timeout)

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
        self, call: Send, parse: Callable[[Reply, tuple[str, ...]], T]
    ) -> Flow[T]:
        remaining: float = yield StoreCall("backoff_remaining")
        if remaining > 0:
            logger.debug("quota back-off: %d s left, gateway not called", remaining)
            raise _limit_exceeded(remaining)

        outcome: Reply | Failure = yield call
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


def _limit_exceeded(remaining: float) -> LimitExceeded:
    retry_after = max(1, int(remaining + 0.999))
    return LimitExceeded(
        "LimitExceeded", 403, "已超出用量限制 (back-off)", retry_after=retry_after
    )
