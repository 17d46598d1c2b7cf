"""A small WebSocket client (RFC 6455), for talking to a runtime's streaming server.

The kubelet needs it only when it must *translate* a stream: kubectl port-forwards over SPDY,
and nodelab's runtime serves port-forward over WebSocket (`v4.channel.k8s.io` framing: a
channel byte, then data). Client frames are masked, as the RFC requires; messages may be
fragmented; pings are answered; a close frame ends the connection.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import struct

from nodelab.errors import NodelabError
from nodelab.kubelet.server import streaming

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
MAX_MESSAGE_BYTES = 32 << 20  # golang.org/x/net/websocket DefaultMaxPayloadBytes


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """An HTTP response head (through the blank line) and the bytes read after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise NodelabError("the runtime's streaming server closed before answering")
        data += chunk
        if len(data) > 65536:
            raise NodelabError("the runtime's streaming server sent an oversized head")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _mask(payload: bytes, key: bytes) -> bytes:
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big") if payload else b""


def encode_client_frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", size)
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class WebSocketClient:
    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self.buffer = bytearray(buffered)
        self._fragments = b""
        self.closed = False

    @classmethod
    def connect(cls, url: str, protocols: list[str]) -> WebSocketClient:
        sock, host, path = streaming.connect(url)
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n"
                f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: {', '.join(protocols)}\r\n"
                f"Origin: http://{host}\r\n\r\n")
        sock.sendall(head.encode("latin-1"))
        answer, rest = read_head(sock)
        status = answer.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status:
            sock.close()
            raise NodelabError(f"the runtime refused the WebSocket: {status}")
        return cls(sock, rest)

    def send(self, payload: bytes) -> None:
        self.sock.sendall(encode_client_frame(OP_BINARY, payload))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.sendall(encode_client_frame(OP_CLOSE, struct.pack(">H", 1000)))
        self.sock.close()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the complete messages (the connection may close)."""
        self.buffer += data
        messages = []
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1]
            size, at = second & 0x7F, 2
            if size == 126:
                if len(self.buffer) < 4:
                    break
                size, at = struct.unpack(">H", bytes(self.buffer[2:4]))[0], 4
            elif size == 127:
                if len(self.buffer) < 10:
                    break
                size, at = struct.unpack(">Q", bytes(self.buffer[2:10]))[0], 10
            if size > MAX_MESSAGE_BYTES or len(self._fragments) + size > MAX_MESSAGE_BYTES:
                self.closed = True  # a peer announcing a message this large is cut off
                self.buffer.clear()
                break
            key = b""
            if second & 0x80:
                key, at = bytes(self.buffer[at:at + 4]), at + 4
            if len(self.buffer) < at + size:
                break
            payload = bytes(self.buffer[at:at + size])
            del self.buffer[:at + size]
            if key:
                payload = _mask(payload, key)
            opcode = first & 0x0F
            if opcode == OP_CLOSE:
                self.closed = True
                break
            if opcode == OP_PING:
                self.sock.sendall(encode_client_frame(OP_PONG, payload))
                continue
            if opcode == OP_PONG:
                continue
            self._fragments += payload
            if first & 0x80:
                messages.append(self._fragments)
                self._fragments = b""
        return messages
