"""Building blocks both store flavours share, in memory and with Redis.

:func:`identity_key` names the cache entry of an identity without ever
using the raw identity token as a key. :class:`Deadlines` is a bounded map
of keys to the times they stop counting: ``MemoryStore`` keeps revoked
sessions in one, and the Redis stores remember recent revocation answers
in two.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

__all__ = ["Deadlines", "identity_key"]


def identity_key(identity_token: str) -> str:
    """The cache key of an identity: a hash, never the raw token."""
    return hashlib.sha256(identity_token.encode()).hexdigest()


class Deadlines:
    """A bounded map of keys to the times they stop counting.

    Built for the per-request revocation check: a read is one ``dict.get``
    and a clock read, without a lock (a single dict operation is atomic);
    only writers take the lock. When full, expired keys go first, then the
    oldest tenth of the rest.
    """

    def __init__(self, max_size: int, clock: Callable[[], float] = time.time) -> None:
        self._deadlines: dict[str, float] = {}
        self._max_size = max_size
        self._clock = clock
        self._lock = threading.Lock()

    def __contains__(self, key: str) -> bool:
        deadline = self._deadlines.get(key)
        return deadline is not None and self._clock() < deadline

    def add(self, key: str, seconds: float) -> None:
        """Count ``key`` for ``seconds`` from now (a later add wins)."""
        if seconds <= 0:
            self.discard(key)
            return
        with self._lock:
            # Re-inserted at the end, so insertion order stays oldest first.
            self._deadlines.pop(key, None)
            self._deadlines[key] = self._clock() + seconds
            if len(self._deadlines) > self._max_size:
                self._prune()

    def discard(self, key: str) -> None:
        """Stop counting ``key``."""
        with self._lock:
            self._deadlines.pop(key, None)

    def __len__(self) -> int:
        return len(self._deadlines)

    def _prune(self) -> None:
        now = self._clock()
        live = {key: t for key, t in self._deadlines.items() if t > now}
        excess = len(live) - self._max_size
        if excess > 0:
            # Evict a tenth at once, so that a full map is not re-scanned on
            # every add. Oldest first: they have the least life left to guard.
            oldest = list(live)[: excess + self._max_size // 10]
            for key in oldest:
                del live[key]
        self._deadlines = live
