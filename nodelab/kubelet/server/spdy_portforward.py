"""Port-forward translation: kubectl's SPDY on one side, the runtime's WebSocket on the other.

Upstream, the API server turns kubectl's WebSocket tunnel into SPDY and the kubelet proxies
SPDY on to the runtime (containerd and CRI-O speak it). nodelab's runtime speaks only
WebSocket, so when it refuses the SPDY upgrade the kubelet answers the upgrade itself and
translates, one SPDY session against many short WebSocket connections:

- kubectl opens, per local connection, an *error* stream then a *data* stream (SYN_STREAM,
  headers `streamType`, `port`, `requestID`); each gets a SYN_REPLY;
- once both streams of a request are open, the kubelet asks CRI `PortForward` for a URL and
  opens a WebSocket (`v4.channel.k8s.io`) for that one port: channel 0 data, channel 1 errors,
  each starting with the port number (2 bytes, little endian), which is dropped;
- DATA on the data stream goes to channel 0; channel 0 comes back as DATA on the data stream,
  channel 1 as DATA on the error stream (kubectl prints it); when either side ends, both
  streams get FIN.

One thread runs the whole session with `select`, so the TLS socket is only ever used by it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from nodelab.errors import NodelabError
from nodelab.host.readiness import readable
from nodelab.kubelet.server import spdy
from nodelab.kubelet.server.websocket_client import WebSocketClient

log = logging.getLogger("nodelab.kubelet")
UPGRADE_RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                    b"Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n")


@dataclass
class Request:
    """The stream pair of one forwarded connection."""

    port: int = 0
    data: int = 0
    error: int = 0
    ws: WebSocketClient | None = None
    prefixes_seen: set[int] = field(default_factory=set)


class Session:
    def __init__(self, client: socket.socket,
                 open_port: Callable[[int], WebSocketClient]) -> None:
        self.client, self.open_port = client, open_port
        self.codec = spdy.HeaderCodec()
        self.buffer = bytearray()
        self.requests: dict[str, Request] = {}
        self.by_stream: dict[int, str] = {}

    def run(self) -> None:
        self.client.sendall(UPGRADE_RESPONSE)
        try:
            while True:
                sockets: list[socket.socket] = [self.client] + [
                    r.ws.sock for r in self.requests.values() if r.ws and not r.ws.closed]
                ready: list[socket.socket]
                if isinstance(self.client, ssl.SSLSocket) and self.client.pending():
                    ready = [self.client]
                else:
                    ready = readable(sockets, 3600)
                    if not ready:
                        return
                for sock in ready:
                    if sock is self.client:
                        if not self._from_client():
                            return
                    else:
                        self._from_runtime(sock)
        finally:
            for request in self.requests.values():
                if request.ws is not None:
                    request.ws.close()

    def _from_client(self) -> bool:
        try:
            data = self.client.recv(65536)
        except (OSError, ssl.SSLError):
            return False
        if not data:
            return False
        self.buffer += data
        for frame in spdy.take_frames(self.buffer):
            if frame.control:
                if not self._control(frame):
                    return False
            else:
                self._data(frame)
        return True

    def _control(self, frame: spdy.Frame) -> bool:
        if frame.type == spdy.SYN_STREAM:
            headers = spdy.syn_stream_headers(self.codec, frame)
            self.client.sendall(spdy.syn_reply(self.codec, frame.stream_id))
            key = headers.get("requestid", str(frame.stream_id // 4))
            request = self.requests.setdefault(key, Request())
            request.port = int(headers.get("port", "0") or 0)
            if headers.get("streamtype") == "error":
                request.error = frame.stream_id
            else:
                request.data = frame.stream_id
            self.by_stream[frame.stream_id] = key
            if request.data and request.error and request.ws is None:
                self._open(request)
        elif frame.type == spdy.PING:
            self.client.sendall(spdy.ping_reply(frame))
        elif frame.type == spdy.RST_STREAM:
            found = self.by_stream.get(frame.stream_id)
            if found is not None and found in self.requests:
                self._finish(self.requests[found], notify=False)
        elif frame.type == spdy.GOAWAY:
            return False
        return True

    def _open(self, request: Request) -> None:
        try:
            request.ws = self.open_port(request.port)
        except NodelabError as exc:
            message = f"error forwarding port {request.port}: {exc}".encode()
            self.client.sendall(spdy.data_frame(request.error, message))
            self._finish(request)

    def _data(self, frame: spdy.Frame) -> None:
        key = self.by_stream.get(frame.stream_id)
        request = self.requests.get(key or "")
        if request is None or frame.stream_id != request.data or request.ws is None:
            return
        try:
            if frame.payload:
                request.ws.send(b"\x00" + frame.payload)
            if frame.fin:
                self._finish(request)
        except OSError:
            self._finish(request)

    def _from_runtime(self, sock: socket.socket) -> None:
        request = next(r for r in self.requests.values() if r.ws and r.ws.sock is sock)
        assert request.ws is not None
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        messages = request.ws.feed(data) if data else []
        for message in messages:
            channel, body = message[0], message[1:]
            if channel not in request.prefixes_seen:
                request.prefixes_seen.add(channel)
                body = body[2:]
            if body:
                stream = request.data if channel == 0 else request.error
                self.client.sendall(spdy.data_frame(stream, body))
        if not data or request.ws.closed:
            self._finish(request)

    def _finish(self, request: Request, notify: bool = True) -> None:
        if request.ws is not None and not request.ws.closed:
            request.ws.close()
        elif request.ws is not None:
            with contextlib.suppress(OSError):
                request.ws.sock.close()
        if notify:
            for stream in (request.data, request.error):
                if stream:
                    with contextlib.suppress(OSError):
                        self.client.sendall(spdy.data_frame(stream, b"", fin=True))
        for key, value in list(self.requests.items()):
            if value is request:
                del self.requests[key]
