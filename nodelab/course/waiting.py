"""`eventually`: wait until a check returns something true, as the learner watches.

Kubernetes is level-triggered: after a `kubectl apply` the notebook waits for the state to
converge. The check is any callable; its last result is in the error if time runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from nodelab.errors import NodelabError

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 60.0, every: float = 0.5,
               what: str = "the check") -> T:
    """Call check until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise NodelabError(f"{what} was not true after {timeout:.0f}s (last: {last!r})")
