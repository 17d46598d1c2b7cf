"""A small threaded TCP listener for the lab's root-namespace helpers (relays and proxies).

`serve_connections` accepts on one address until `stop` is set (checked twice a second) and
hands each connection to `handle` on its own daemon thread; a supervised helper passes the
daemons' `host.daemon.stop_signals()`, so it ends cleanly when `nodelab down` stops it.
"""

from __future__ import annotations

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
