"""The loop both of podnet's parts run: sync whenever a watched change wakes it (and every 30 s
regardless), until stopped; a sync that fails is logged and tried again a second later, so the
node keeps converging on what the API server says."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

RESYNC = 30.0  # seconds without a change before a sync anyway
RETRY = 1.0  # seconds after a failed sync


def converge(wake: threading.Event, stop: threading.Event, sync: Callable[[], None],
             log: logging.Logger, what: str) -> None:
    while not stop.is_set():
        wake.wait(timeout=RESYNC)
        wake.clear()
        if stop.is_set():
            break
        try:
            sync()
        except Exception:  # keep converging; the next change (or the retry) tries again
            log.exception("%s sync failed", what)
            stop.wait(RETRY)
            wake.set()
