"""WebSocket (RFC 6455) for the streaming server: the upgrade answer here, the framing by wsproto.

Kubernetes streams exec, attach and port-forward over WebSocket with one *channel byte* leading
every binary message (see `server.py`). This module knows nothing of channels: it accepts an
upgrade (choosing the first sub-protocol both sides speak) and then hands the connection's
bytes to wsproto, which reassembles fragments, unmasks client frames, checks the protocol
(a bad frame closes with 1002, bad UTF-8 in a text message with 1007) and writes frames as a
server must. `Connection` adds what wsproto leaves to its user: answering pings and the close
handshake, and the message cap (32 MiB, golang.org/x/net/websocket's default): a message that
grows past it is answered with close 1009 and dropped; at most the cap plus one read is held.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import threading
from collections import deque
from collections.abc import Sequence

from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Event, Message, Ping
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE_BYTES = 32 << 20  # golang.org/x/net/websocket DefaultMaxPayloadBytes


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def choose_protocol(offered: str, supported: Sequence[str]) -> str | None:
    wanted = [p.strip() for p in offered.split(",") if p.strip()]
    for protocol in wanted:
        if protocol in supported:
            return protocol
    return None


def handshake_response(key: str, protocol: str | None) -> bytes:
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class MessageTooBig(ValueError):
    """A message past MAX_MESSAGE_BYTES (the connection is closed with 1009)."""


class Connection:
    """One upgraded connection; `send` is thread-safe, `receive` is for one reader thread."""

    def __init__(self, sock: socket.socket, client: bool = False, buffered: bytes = b"") -> None:
        self.sock = sock
        self.client = client
        self._ws = WSConnection(ConnectionType.CLIENT if client else ConnectionType.SERVER,
                                trailing_data=buffered)
        self._send_lock = threading.Lock()
        self._parts: list[bytes] = []
        self._size = 0
        self._ready: deque[bytes] = deque()
        self._ended = False
        self.closed = False

    def _take_events(self) -> None:
        """Move wsproto's events into whole messages; answer pings and closes."""
        for event in self._ws.events():
            if isinstance(event, Message):
                data = event.data.encode() if isinstance(event.data, str) else bytes(event.data)
                self._size += len(data)
                if self._size > MAX_MESSAGE_BYTES:
                    raise MessageTooBig(self._size)
                self._parts.append(data)
                if event.message_finished:
                    self._ready.append(b"".join(self._parts))
                    self._parts, self._size = [], 0
            elif isinstance(event, Ping):
                self._write(event.response())
            elif isinstance(event, CloseConnection):
                self._ended = True
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    self._write(event.response())
                self.closed = True
                return

    def receive(self) -> bytes | None:
        """The next whole data message, or None when the peer closed."""
        while not self._ready:
            if self._ended:
                return None
            try:
                data = self.sock.recv(65536)
            except OSError:
                return None
            if not data:
                return None
            try:
                self._ws.receive_data(data)
                self._take_events()
            except MessageTooBig:
                self._parts, self._size = [], 0
                self.close(1009)  # RFC 6455: message too big
                return None
            except (LocalProtocolError, RemoteProtocolError):
                return None
        return self._ready.popleft()

    def _write(self, event: Event) -> None:
        with self._send_lock:
            try:
                data = self._ws.send(event)
            except LocalProtocolError as exc:
                raise ConnectionError(f"WebSocket closed: {exc}") from exc
            self.sock.sendall(data)

    def send(self, payload: bytes) -> None:
        if self.closed:
            raise ConnectionError("connection closed")
        self._write(BytesMessage(data=payload))

    def close(self, code: int = 1000) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, ConnectionError):
            self._write(CloseConnection(code=code))
