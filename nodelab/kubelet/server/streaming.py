"""Streaming for exec, attach and port-forward: the kubelet as a proxy to the runtime.

The kubelet does not run the command itself. For `/exec/{ns}/{pod}/{container}` it asks the
runtime (CRI `Exec`, `Attach`, `PortForward`) for a one-time URL on the runtime's streaming
server, then, as upstream does with `redirectContainerStreaming: false`, it *proxies* the
client's upgrade request there: the request head is replayed with the path of that URL, and
from then on bytes are copied both ways unchanged until either side closes. So the
WebSocket (`v5.channel.k8s.io`: channel byte 0 stdin, 1 stdout, 2 stderr, 3 status, 4
resize; `[255, ch]` closes a channel) or SPDY session runs end to end between kubectl and the
runtime, whatever the runtime is (nodelab's or containerd's).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

from nodelab.errors import NodelabError

_HOP = {"host", "content-length"}


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


def request_head(method: str, path: str, host: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """The upgrade request as the runtime's streaming server should see it.

    Repeated headers stay repeated (kubectl offers every protocol version in its own
    `X-Stream-Protocol-Version` line). A WebSocket request gets an `Origin` if it has none:
    containerd's streaming server (golang.org/x/net/websocket) refuses one without (403).
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in _HOP]
    names = {k.lower() for k, _ in headers}
    upgrade = next((v for k, v in headers if k.lower() == "upgrade"), "")
    if upgrade.lower() == "websocket" and "origin" not in names:
        lines.append(f"Origin: http://{host}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def connect(url: str) -> tuple[socket.socket, str, str]:
    """A connection to the runtime's streaming URL; returns (socket, host header, path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NodelabError(f"the runtime gave an unusable streaming URL {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=10)
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    sock.settimeout(None)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return sock, parts.netloc, path or "/"

