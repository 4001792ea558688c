"""pytest fixtures that put a FakeGateway in front of an application's tests.

Installing ``y2w_middleware`` registers this module as the ``y2w`` pytest
plugin (or load it with ``-p y2w_middleware.testing._plugin``). Fixtures,
each fresh for every test:

``fake_gateway``
    A new :class:`~y2w_middleware.testing.FakeGateway` with demo credentials.
``fake_gateway_url``
    That same gateway served over real HTTP on 127.0.0.1; the base URL,
    such as ``"http://127.0.0.1:54321"``.
``y2w_env``
    A dict of ``Y2W_*`` settings pointing at the served gateway, ready for
    ``Settings.from_env(y2w_env)`` or, one by one, ``monkeypatch.setenv``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from ._fake import FakeGateway

__all__ = [
    "fake_gateway",
    "fake_gateway_url",
    "y2w_env",
]


@pytest.fixture
def fake_gateway() -> FakeGateway:
    """A fresh fake gateway with its demo appid and secret."""
    return FakeGateway()


@pytest.fixture
def fake_gateway_url(fake_gateway: FakeGateway) -> Iterator[str]:
    """The base URL of ``fake_gateway``, served for the test's duration."""
    with fake_gateway.serve() as base_url:
        yield base_url


@pytest.fixture
def y2w_env(fake_gateway: FakeGateway, fake_gateway_url: str) -> dict[str, str]:
    """``Y2W_*`` settings for a middleware that talks to the served fake."""
    return {
        "Y2W_APPID": fake_gateway.appid,
        "Y2W_SECRET": fake_gateway.secret,
        "Y2W_SESSION_SECRET": secrets.token_urlsafe(32),
        "Y2W_GATEWAY_URL": fake_gateway_url,
        # The served fake is plain http on localhost.
        "Y2W_COOKIE_SECURE": "false",
    }
