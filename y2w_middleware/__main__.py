"""``python -m y2w_middleware``: the same as the ``y2w`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
