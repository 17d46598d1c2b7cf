"""The small part of RFC 6455 (WebSocket) the streaming server needs: handshake and frames.

Kubernetes streams exec, attach and port-forward over WebSocket with one *channel byte* leading
every binary message (see `server.py`). This module knows nothing of channels: it accepts an
upgrade (choosing the first sub-protocol both sides speak), reads whole messages (reassembling
fragments, answering pings, unmasking client frames) and writes unmasked binary frames, as a
server must.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import struct
import threading
from collections.abc import Sequence

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
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


def encode_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    head = bytes([0x80 | opcode])
    length = len(payload)
    mask_bit = 0x80 if mask else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


class MessageTooBig(ValueError):
    """A frame or message past MAX_MESSAGE_BYTES (the connection is closed with 1009)."""


class Connection:
    """One upgraded connection; `send` is thread-safe, `receive` is for one reader thread."""

    def __init__(self, sock: socket.socket, client: bool = False) -> None:
        self.sock = sock
        self.client = client
        self._send_lock = threading.Lock()
        self.closed = False

    def _read_exact(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("connection closed")
            data += chunk
        return data

    def _read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self._read_exact(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        masked, length = bool(second & 0x80), second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._read_exact(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._read_exact(8))[0]
        if length > MAX_MESSAGE_BYTES:
            raise MessageTooBig(length)
        mask = self._read_exact(4) if masked else b""
        payload = self._read_exact(length)
        if masked:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    def receive(self) -> bytes | None:
        """The next whole data message, or None when the peer closed."""
        parts: list[bytes] = []
        total = 0
        while True:
            try:
                fin, opcode, payload = self._read_frame()
                total += len(payload) if opcode in (OP_CONT, OP_TEXT, OP_BINARY) else 0
                if total > MAX_MESSAGE_BYTES:
                    raise MessageTooBig(total)
            except MessageTooBig:
                self.close(1009)  # RFC 6455: message too big
                return None
            except (ConnectionError, OSError, ValueError):
                return None
            if opcode == OP_CLOSE:
                self.close()
                return None
            if opcode == OP_PING:
                self._send(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                continue
            parts.append(payload)
            if fin:
                return b"".join(parts)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4) if self.client else None
        with self._send_lock:
            if self.closed and opcode != OP_CLOSE:
                raise ConnectionError("connection closed")
            self.sock.sendall(encode_frame(opcode, payload, mask))

    def send(self, payload: bytes) -> None:
        self._send(OP_BINARY, payload)

    def close(self, code: int = 1000) -> None:
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self._send(OP_CLOSE, struct.pack("!H", code))
        self.closed = True
