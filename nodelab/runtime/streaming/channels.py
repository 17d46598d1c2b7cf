"""Kubernetes' stream channels over WebSocket: every binary message starts with a channel byte.

exec and attach use 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; port-forward uses two per
port (2i data, 2i+1 error). `pump_to_channel` is the one loop that copies a local source (a
pipe, a pty, a socket) to the client on one channel until the source ends or the client goes;
`client_messages` is the one loop that reads what the client sends, as (channel, data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from nodelab.runtime.streaming.websocket import Connection

CHUNK = 32768


def client_messages(conn: Connection) -> Iterator[tuple[int, bytes]]:
    """Each message the client sends, as (channel, data), until it closes the connection."""
    while True:
        message = conn.receive()
        if message is None:
            return
        if message:
            yield message[0], message[1:]


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
