"""A stand-in kubelet endpoint for the streaming-proxy tests (the real one is the kubelet's).

It serves, over HTTPS on loopback, what the API server proxies to:
- `GET /containerLogs/{ns}/{pod}/{container}`: two log lines and the query it received;
- `/exec/...`, `/attach/...`, `/portForward/...` upgraded to WebSocket `v5.channel.k8s.io`
  (or `v4.channel.k8s.io`, which the Python client speaks):
  it writes "exec <command>" on stdout (channel 1), echoes stdin (channel 0) back on stdout
  until the client closes stdin (v5 close message on channel 255), then sends a Success status
  on channel 3 and a close frame, as a kubelet does.
Any other GET answers `{"path": <the path it was asked>}` (for `nodes/{name}/proxy`).
Every request path is recorded in `paths`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 1 << 16:
        head += bytes([126]) + struct.pack(">H", len(payload))
    else:
        head += bytes([127]) + struct.pack(">Q", len(payload))
    return head + payload


def _read_frame(rfile: Any) -> tuple[int, bytes] | None:
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack(">H", rfile.read(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", rfile.read(8))[0]
    mask = rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = bytearray(rfile.read(length))
    for i in range(len(data)):
        data[i] ^= mask[i % 4]
    return opcode, bytes(data)


class StandInKubelet:
    def __init__(self, cert: Path, key: Path) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                owner.paths.append(self.path)
                if self.path.startswith("/containerLogs/"):
                    query = parse_qs(urlsplit(self.path).query)
                    body = f"line one\nline two\nquery {json.dumps(query, sort_keys=True)}\n"
                    data = body.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self._websocket()
                    return
                data = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

            def _websocket(self) -> None:
                offered = [p.strip() for p in
                           self.headers.get("Sec-WebSocket-Protocol", "").split(",")]
                chosen = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io")
                               if p in offered), None)
                if chosen is None:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                accept = base64.b64encode(hashlib.sha1(
                    (self.headers["Sec-WebSocket-Key"] + _GUID).encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.send_header("Sec-WebSocket-Protocol", chosen)
                self.end_headers()
                query = parse_qs(urlsplit(self.path).query)
                command = " ".join(query.get("command", []))
                self.wfile.write(_frame(2, b"\x01" + f"exec {command}\n".encode()))
                self.wfile.flush()
                if query.get("stdin") == ["true"]:
                    while True:
                        frame = _read_frame(self.rfile)
                        if frame is None or frame[0] == 8:
                            break
                        opcode, data = frame
                        if data[:1] == b"\x00" and len(data) > 1:
                            self.wfile.write(_frame(2, b"\x01" + data[1:]))
                            self.wfile.flush()
                        elif data[:1] == b"\xff":
                            break
                status = json.dumps({"metadata": {}, "status": "Success"}).encode()
                self.wfile.write(_frame(2, b"\x03" + status))
                self.wfile.write(_frame(8, struct.pack(">H", 1000)))
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
