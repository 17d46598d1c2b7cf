"""Kubernetes' stream channels over WebSocket: every binary message starts with a channel byte.

exec and attach use 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; port-forward uses two per
port (2i data, 2i+1 error). `pump_to_channel` is the one loop that copies a local source (a
pipe, a pty, a socket) to the client on one channel until the source ends or the client goes.
"""

from __future__ import annotations

from collections.abc import Callable

from nodelab.runtime.streaming.websocket import Connection

CHUNK = 32768


def pump_to_channel(conn: Connection, read: Callable[[int], bytes], channel: int) -> None:
    """Send what `read(CHUNK)` returns, prefixed with `channel`, until EOF or an OSError."""
    while True:
        try:
            data = read(CHUNK)
        except OSError:
            return
        if not data:
            return
        try:
            conn.send(bytes([channel]) + data)
        except OSError:
            return
