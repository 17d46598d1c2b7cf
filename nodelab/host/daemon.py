"""What every nodelab daemon process does the same way: its log lines, its stop signals, its
start-up failures.

The daemons (`python -m nodelab.runtime`, `.kubelet`, `.proxy`, `.podnet`, `.controlplane`,
`.controlplane.controllers`, the lab supervisor, a joined lab's API relay and registry proxy)
run under the lab supervisor, which sends their stdout and stderr to `logs/<daemon>.log` and
stops them with SIGTERM, as systemd stops a node's services; a learner running one by hand
stops it with Ctrl-C (SIGINT). So:

- `setup_logging(component, level)`: one line per record, `<time> <component> <LEVEL>
  <logger>: <message>`, on stdout;
- `stop_signals(on_stop)`: an Event that SIGTERM and SIGINT set, for the daemon's main thread
  to wait on (or pass to its loops) before it stops what it started;
- `refuse_to_start(component, error)`: the one line a daemon prints when it cannot start
  (what failed, on what, what to do: the NodelabError's message), and exit status 1.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType


def setup_logging(component: str, level: str | int = logging.INFO) -> None:
    """Log records of every logger as `<time> <component> <LEVEL> <logger>: <message>`."""
    logging.basicConfig(stream=sys.stdout,
                        level=level.upper() if isinstance(level, str) else level,
                        format=f"%(asctime)s {component} %(levelname)s %(name)s: %(message)s",
                        force=True)


def stop_signals(on_stop: Callable[[], None] | None = None) -> threading.Event:
    """An Event set when the process gets SIGTERM or SIGINT (call from the main thread);
    `on_stop`, if given, is called then too (for a loop that has its own stop())."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if on_stop is not None:
            on_stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def refuse_to_start(component: str, error: BaseException) -> int:
    """Print why `component` cannot start (or go on) on stderr; the exit status to return."""
    print(f"{component}: {error}", file=sys.stderr)
    return 1
