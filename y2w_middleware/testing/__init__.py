"""Test support: a faithful, in-memory fake of the yun2win gateway.

``FakeGateway`` speaks the vendor's contract byte for byte and can be told
to misbehave. Installing the package also registers a pytest plugin with
ready-made fixtures (``fake_gateway``, ``fake_gateway_url``, ``y2w_env``);
see ``y2w_middleware.testing._plugin``.
"""

from __future__ import annotations

from ._contract import Reply
from ._fake import FakeGateway
from ._faults import Fault

__all__ = ["FakeGateway", "Fault", "Reply"]
