"""A WebSocket client (RFC 6455) for talking to a runtime's streaming server, framed by wsproto.

The kubelet needs it only when it must *translate* a stream: kubectl port-forwards over SPDY,
and nodelab's runtime serves port-forward over WebSocket (`v4.channel.k8s.io` framing: a
channel byte, then data). The upgrade request is written here; every frame after it is
wsproto's (client frames masked, fragments reassembled, protocol errors end the connection).
This class answers pings and closes, and caps a message at 32 MiB (golang.org/x/net/websocket's
default): a peer whose message grows past it is cut off.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket

from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from nodelab.errors import NodelabError
from nodelab.kubelet.server import streaming
from nodelab.kubelet.server.streaming import read_head

MAX_MESSAGE_BYTES = 32 << 20  # golang.org/x/net/websocket DefaultMaxPayloadBytes


class WebSocketClient:
    def __init__(self, sock: socket.socket, buffered: bytes = b"") -> None:
        self.sock = sock
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._fragments: list[bytes] = []
        self._size = 0
        self.closed = False
        self._early = buffered  # bytes read with the upgrade answer: fed first

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
        self.sock.sendall(self._ws.send(BytesMessage(data=payload)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError, LocalProtocolError):
                self.sock.sendall(self._ws.send(CloseConnection(code=1000)))
        self.sock.close()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the complete messages (the connection may close)."""
        messages: list[bytes] = []
        if self.closed:
            return messages
        data, self._early = self._early + data, b""
        try:
            self._ws.receive_data(data)
            events = list(self._ws.events())
        except (LocalProtocolError, RemoteProtocolError):
            self.closed = True
            return messages
        for event in events:
            if isinstance(event, Message):
                chunk = event.data.encode() if isinstance(event.data, str) else bytes(event.data)
                self._fragments.append(chunk)
                self._size += len(chunk)
                if self._size > MAX_MESSAGE_BYTES:
                    self.closed = True  # a peer sending a message this large is cut off
                    self._fragments, self._size = [], 0
                    break
                if event.message_finished:
                    messages.append(b"".join(self._fragments))
                    self._fragments, self._size = [], 0
            elif isinstance(event, Ping):
                self.sock.sendall(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = True
                break
        return messages
