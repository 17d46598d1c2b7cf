"""The joined lab's opt-in CONNECT proxy to outside registries, on loopback only: allowed
targets are tunnelled byte for byte, others refused; the OCI client goes through it when its
runtime has `https_proxy` (as a joined lab's runtime does with `--allow-registry`)."""

from __future__ import annotations

import http.server
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.controlplane.auth.pki import ensure_pki
from nodelab.lab.join.registry_proxy import (
    DOCKER_HUB_HOSTS,
    allowed_endpoints,
    parse_connect,
    serve,
)


def test_allowed_endpoints_expand_docker_hub_and_default_to_443() -> None:
    assert allowed_endpoints(["docker.io"]) == {(h, 443) for h in DOCKER_HUB_HOSTS}
    assert allowed_endpoints(["Quay.io", "reg.example:5443"]) == {
        ("quay.io", 443), ("reg.example", 5443)}
    with pytest.raises(ValueError, match="HOST:PORT"):
        allowed_endpoints(["reg:https"])


def test_parse_connect() -> None:
    assert parse_connect(b"CONNECT auth.docker.io:443 HTTP/1.1\r\nHost: x\r\n\r\n") == (
        "auth.docker.io", 443)
    assert parse_connect(b"GET http://x/ HTTP/1.1\r\n\r\n") is None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _V2(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A TLS `GET /v2/` answerer on loopback with a certificate from a throwaway CA."""
    pki = ensure_pki(tmp_path_factory.mktemp("pki"), ["127.0.0.1"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _V2)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield server.server_address[1], pki.ca_cert
    server.shutdown()


def running_proxy(allowed: set[tuple[str, int]]) -> tuple[int, threading.Event]:
    port, stop = free_port(), threading.Event()
    threading.Thread(target=serve, args=(("127.0.0.1", port), allowed, stop),
                     daemon=True).start()
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            threading.Event().wait(0.05)
    return port, stop


def ask(proxy: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy), timeout=5) as sock:
        sock.sendall(head)
        return sock.recv(200)


def test_refuses_what_is_not_allowed(registry: tuple[int, Path]) -> None:
    port, _ca = registry
    proxy, stop = running_proxy({("127.0.0.1", port)})
    try:
        assert ask(proxy, f"CONNECT 127.0.0.1:{port + 1} HTTP/1.1\r\n\r\n".encode()
                   ).startswith(b"HTTP/1.1 403")
        assert ask(proxy, b"GET http://127.0.0.1/ HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405")
        assert ask(proxy, f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode()
                   ).startswith(b"HTTP/1.1 200")
    finally:
        stop.set()


def ping_through(proxy: int, port: int, ca: Path) -> subprocess.CompletedProcess[str]:
    code = ("from nodelab.oci.distribution import RegistryClient\n"
            f"RegistryClient('127.0.0.1:{port}').ping()\nprint('pinged')\n")
    env = {**os.environ, "https_proxy": f"http://127.0.0.1:{proxy}", "SSL_CERT_FILE": str(ca),
           "no_proxy": ""}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)


def test_the_oci_client_pulls_through_it_and_tls_stays_end_to_end(
        registry: tuple[int, Path]) -> None:
    port, ca = registry
    proxy, stop = running_proxy({("127.0.0.1", port)})
    try:
        through = ping_through(proxy, port, ca)
        assert through.returncode == 0 and "pinged" in through.stdout, through.stderr
    finally:
        stop.set()
    closed, stop = running_proxy(set())  # nothing allowed: the same ping is refused
    try:
        refused = ping_through(closed, port, ca)
        assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    finally:
        stop.set()
