"""A small threaded TCP listener for the lab's root-namespace helpers (relays and proxies).

`serve_connections` accepts on one address until `stop` is set (checked twice a second) and
hands each connection to `handle` on its own daemon thread; `stop_on_signals` gives the event
that SIGTERM and SIGINT set, so a supervised helper ends cleanly when `nodelab down` stops it.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable


def serve_connections(listen: tuple[str, int], handle: Callable[[socket.socket], None],
                      stop: threading.Event, backlog: int = 128) -> None:
    server = socket.socket(socket.AF_INET6 if ":" in listen[0] else socket.AF_INET)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(backlog)
    server.settimeout(0.5)
    with server:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(client,), daemon=True).start()


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (call from the main thread)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop
