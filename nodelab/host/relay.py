"""Relaying bytes between two sockets until either side closes (TLS-aware).

Used by the API server's streaming proxy (client <-> kubelet) and the kubelet's upgrade
tunnels (API server <-> runtime streaming server): exec, attach and port-forward bytes are
copied unchanged. TLS sockets may hold decrypted records that `select` cannot see; those are
drained first.
"""

from __future__ import annotations

import socket
import ssl

from nodelab.host.readiness import readable


def pump(a: socket.socket, b: socket.socket, buffered: bytes = b"") -> None:
    """Copy bytes both ways until one side closes; `buffered` goes to `b` first."""
    if buffered:
        b.sendall(buffered)
    peers: dict[socket.socket, socket.socket] = {a: b, b: a}
    while True:
        ready: list[socket.socket] = [
            s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            ready = readable(list(peers), 3600)
            if not ready:
                return
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (ssl.SSLError, OSError):
                return
            if not data:
                return
            try:
                peers[sock].sendall(data)
            except OSError:
                return
