"""Named crash points for fault-injection tests.

`hit("relay.after_publish")` kills the process with SIGKILL semantics (os._exit) when the
setting BORGERTING_FAULT_POINT names that point. In production the setting is empty and
`hit` is a string comparison.
"""

from __future__ import annotations

import os
import sys

from shared.settings import get_settings


def hit(point: str) -> None:
    if get_settings().fault_point == point:
        sys.stderr.write(f'{{"event": "fault injected", "point": "{point}"}}\n')
        sys.stderr.flush()
        os._exit(137)
