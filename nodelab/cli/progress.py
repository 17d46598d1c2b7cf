"""The CLI's progress: each step of up, join or down on its own line on stderr.

`Lab` itself is quiet (a script passes `progress=` when it wants to see the steps); the
commands print them, so `nodelab up` shows where it is.
"""

from __future__ import annotations

import sys


def stderr_progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)
