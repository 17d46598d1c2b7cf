"""The HTTPS transport: a threaded stdlib HTTP/1.1 server with the lab CA's TLS.

One thread per connection (a watch holds its connection for minutes, so threads are the simple
correct choice). TLS asks for, but does not require, a client certificate: a verified one is
an identity, otherwise a bearer token must be sent. Responses are JSON with Content-Length;
watches and logs are chunked; exec/attach/portforward connections are handed to the proxy.

Bad input is bounded as upstream's http.Server and kube-apiserver bound it: a connection idle
between requests is closed after 90 s (IdleTimeout), the request line and headers, and then the
body, must arrive within 32 s each read (ReadHeaderTimeout); the client is authenticated from
its certificate or headers *before* any body is read, and an anonymous request is answered
(401) without reading its body; the body is read only as far as `body_limits.body_plan` allows
(3 MiB, 413 beyond; 400 for a malformed length; chunked bodies decoded up to the same cap).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nodelab.controlplane.auth.access import Identity, from_certificate, from_token
from nodelab.controlplane.auth.pki import PKI
from nodelab.controlplane.auth.tokens import TokenIssuer
from nodelab.controlplane.http.body_limits import (
    MAX_REQUEST_BODY_BYTES,
    Refusal,
    body_plan,
    too_large,
)
from nodelab.controlplane.http.dispatch import Api
from nodelab.controlplane.http.messages import Request, Response
from nodelab.controlplane.http.protobuf import negotiated
from nodelab.host.private_files import write_private
from nodelab.host.readiness import readable

log = logging.getLogger("nodelab.controlplane")

IDLE_TIMEOUT = 90.0  # Go http.Server IdleTimeout as kube-apiserver sets it
HEADER_TIMEOUT = 32.0  # kube-apiserver's ReadHeaderTimeout


class _BadBody(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, api: Api,
                 admin_token: str, issuer: TokenIssuer) -> None:
        super().__init__(address, _Handler)
        self.context = context
        self.api = api
        self.admin_token = admin_token
        self.issuer = issuer

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.settimeout(HEADER_TIMEOUT)
            self.connection.do_handshake()
            self.connection.settimeout(IDLE_TIMEOUT)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            self.rfile = _Empty()  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.settimeout(IDLE_TIMEOUT)  # waiting for the next request line
        super().handle_one_request()

    def parse_request(self) -> bool:
        with contextlib.suppress(OSError):
            self.connection.settimeout(HEADER_TIMEOUT)  # headers, then the body
        return super().parse_request()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug(format, *args)

    def _identity(self) -> Identity | None:
        try:
            peer = self.connection.getpeercert()
        except (ValueError, AttributeError):
            peer = None
        identity = from_certificate(peer)
        if identity is None:
            header = self.headers.get("Authorization", "")
            identity = from_token(header, self.server.admin_token, self.server.issuer,
                                  self.server.api.registry.store)
        return identity

    def _hung_up(self) -> bool:
        """During a watch the client sends nothing: a readable socket means it closed."""
        try:
            return bool(readable([self.connection], 0))
        except (OSError, ValueError):
            return True

    def _dispatch(self) -> None:
        started = time.monotonic()
        headers: dict[str, str] = {}
        for key, value in self.headers.items():  # repeated headers join, as HTTP allows
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        identity = self._identity()  # before any byte of the body is read
        try:
            body = self._read_body(headers) if identity is not None else self._skip_body(headers)
        except _BadBody as exc:
            self.close_connection = True
            self._send(negotiated(Response(exc.refusal.code, exc.refusal.status()),
                                  headers.get("accept", "")))
            return
        except (OSError, ValueError):
            self.close_connection = True
            return
        request = Request(self.command, self.path, headers, body, identity, self._hung_up)
        response = self.server.api.handle(request)
        if response.tunnel is not None:
            self.close_connection = True
            self.wfile.flush()
            self.connection.settimeout(None)  # an exec or port-forward may idle for hours
            try:
                response.tunnel.run(self.connection, self.rfile)  # type: ignore[arg-type]
            except OSError as exc:
                self._send(Response(502, {"kind": "Status", "apiVersion": "v1",
                                          "status": "Failure", "code": 502,
                                          "reason": "InternalError",
                                          "message": f"error dialing backend: {exc}"}))
            return
        self._send(response)
        user = request.identity.user if request.identity else "-"
        log.info("%s %s %s %d %.1fms", user, self.command, self.path[:200], response.code,
                 (time.monotonic() - started) * 1000)

    def _skip_body(self, headers: dict[str, str]) -> bytes:
        """An anonymous request: its body is never read; the connection closes after the 401."""
        if headers.get("content-length", "0").strip() not in ("", "0") or headers.get(
                "transfer-encoding"):
            self.close_connection = True
        return b""

    def _read_body(self, headers: dict[str, str]) -> bytes:
        plan = body_plan(headers)
        if isinstance(plan, Refusal):
            raise _BadBody(plan)
        if not plan.chunked:
            body = self.rfile.read(plan.length) if plan.length else b""
            if len(body) != plan.length:
                raise _BadBody(Refusal(400, "BadRequest", "the request body ended early"))
            return body
        out = bytearray()
        while True:
            size_text = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadBody(Refusal(400, "BadRequest", "malformed chunked body")) from None
            if size < 0:
                raise _BadBody(Refusal(400, "BadRequest", "malformed chunked body"))
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(out)
            if len(out) + size > MAX_REQUEST_BODY_BYTES:
                raise _BadBody(too_large())
            out += self.rfile.read(size)
            self.rfile.readline(3)

    def _send(self, response: Response) -> None:
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in response.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except (OSError, ValueError):
                self.close_connection = True
            finally:
                close = getattr(response.stream, "close", None)
                if close is not None:
                    close()
            return
        payload = response.raw if response.raw is not None else json.dumps(
            response.body, separators=(",", ":")).encode()
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Empty:
    def readline(self, *args: Any) -> bytes:
        return b""

    def read(self, *args: Any) -> bytes:
        return b""

    def close(self) -> None:
        return None


def tls_context(pki: PKI) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    context.load_verify_locations(str(pki.ca_cert))
    context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


class HttpsServer:
    """The listening server; `serve` blocks until `shutdown`."""

    def __init__(self, host: str, port: int, pki: PKI, api: Api, admin_token: str,
                 issuer: TokenIssuer) -> None:
        self._server = _Server((host, port), tls_context(pki), api, admin_token, issuer)
        self.api = api

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def serve(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve, name="apiserver", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        self.api.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def read_admin_token(pki_dir: Path) -> str:
    import secrets

    path = Path(pki_dir) / "admin.token"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()
