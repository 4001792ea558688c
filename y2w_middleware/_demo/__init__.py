"""The ``y2w demo`` app: face login end to end, against a fake gateway.

Nothing here is for production. The "face recognition" is a click on a
card: the demo backend asks the in-process :class:`FakeGateway` to issue
an identity token, as the vendor's component would, and from there on
the page follows the real flow (``POST /y2w/login``, the bind page,
``POST /y2w/logout``).
"""

from __future__ import annotations

from ._app import DEMO_PEOPLE, DemoPerson, build_demo_app
from ._gateway import serve_gateway

__all__ = ["DEMO_PEOPLE", "DemoPerson", "build_demo_app", "serve_gateway"]
