"""The gateway's access token and the rules that say when to replace it.

An :class:`AccessToken` is what call 1 of the contract returns. The flows
in ``_gateway.py`` ask it whether it is still fresh, the stores keep it
(and share it through Redis), and ``/y2w/access-token`` hands its value and
remaining life to the front-end. Its clock is the wall clock, so that
processes sharing one store agree on when a token runs out.
"""

from __future__ import annotations

import dataclasses
import time

__all__ = ["AccessToken"]


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
