"""What a gateway flow asks of its runner, and what the runner must do.

A flow (``Gateway.resolve``, ``Gateway.access_token`` in ``_gateway.py``)
is a generator: it yields an *effect*, such as "send this request" or "ask
the store for the token", and is sent the outcome. Both clients in
``_client.py``, sync and async, are runners that differ only in how they
carry these effects out:

- :class:`Send`: send the request, stream at most ``MAX_BODY`` bytes of
  the answer through a ``BodyReader`` (``_replies.py``), reply with an
  ``Reply``, or a ``Failure`` when httpx2 raised.
- :class:`StoreCall`: call the store method of that name, reply its result.
- :class:`Sleep`: wait that many seconds.
- :class:`Exclusive`: run the inner flow while holding the store's
  ``flight_lock``, reply the inner flow's result.

An exception raised while performing an effect is thrown into the flow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any, TypeAlias, TypeVar

import httpx2

__all__ = [
    "Effect",
    "Exclusive",
    "Flow",
    "Send",
    "Sleep",
    "StoreCall",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Effect: send ``request``; reply with a ``Reply`` or a ``Failure``.

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
