"""Outbound registry access for a joined lab, opt-in: an HTTPS (CONNECT) proxy on the gateway.

Node namespaces have no route out, and nodelab adds no NAT. When `nodelab join` is given
`--allow-registry HOST` (repeatable), the lab runs this proxy in the root namespace
(`python -m nodelab.lab.join.registry_proxy --listen GW:3128 --allow HOST ...`) and the node
runtimes get `https_proxy=http://GW:3128` (the OCI client's urllib honours it). The proxy
only tunnels: `CONNECT host:443` to an allowed host (or `host:port` when the entry names a
port), byte for byte, so TLS and the registry's bearer-token auth stay end to end. Anything
else is refused (403 for hosts not allowed, 405 for plain HTTP requests).

`docker.io` stands for what a Docker Hub pull touches: `registry-1.docker.io` (the API),
`auth.docker.io` (tokens) and `production.cloudflare.docker.com` (blob downloads).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
from collections.abc import Iterable

from nodelab.host.daemon import stop_signals
from nodelab.host.listener import serve_connections
from nodelab.host.relay import pump

PROXY_PORT = 3128
DOCKER_HUB_HOSTS = ("registry-1.docker.io", "auth.docker.io",
                    "production.cloudflare.docker.com")
_MAX_HEAD = 16384


def allowed_endpoints(entries: Iterable[str]) -> set[tuple[str, int]]:
    """`HOST` (port 443) or `HOST:PORT` entries, `docker.io` expanded, as (host, port)."""
    endpoints: set[tuple[str, int]] = set()
    for entry in entries:
        entry = entry.strip().lower()
        if not entry:
            continue
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "443")
        if not port.isdigit():
            raise ValueError(f"--allow-registry {entry!r}: write HOST or HOST:PORT")
        hosts = DOCKER_HUB_HOSTS if host in ("docker.io", "index.docker.io") else (host,)
        endpoints |= {(h, int(port)) for h in hosts}
    return endpoints


def parse_connect(head: bytes) -> tuple[str, int] | None:
    """The target of a `CONNECT host:port HTTP/1.x` request head (None: not a CONNECT)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split()
    if len(parts) != 3 or parts[0].upper() != "CONNECT":
        return None
    host, _, port = parts[1].rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]").lower(), int(port)


def _read_head(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
        chunk = client.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _answer(client: socket.socket, code: int, reason: str, detail: str = "") -> None:
    body = (detail + "\n").encode() if detail else b""
    client.sendall(f"HTTP/1.1 {code} {reason}\r\nContent-Length: {len(body)}\r\n"
                   "Connection: close\r\n\r\n".encode() + body)


def handle(client: socket.socket, allowed: set[tuple[str, int]]) -> None:
    try:
        client.settimeout(10)
        head = _read_head(client)
        target = parse_connect(head)
        if target is None:
            _answer(client, 405, "Method Not Allowed", "this proxy only tunnels CONNECT")
            return
        if target not in allowed:
            print(f"registry-proxy: refused CONNECT {target[0]}:{target[1]}", flush=True)
            _answer(client, 403, "Forbidden", f"{target[0]}:{target[1]} is not an allowed "
                    "registry (nodelab join --allow-registry HOST)")
            return
        try:
            upstream = socket.create_connection(target, timeout=10)
        except OSError as exc:
            _answer(client, 502, "Bad Gateway", f"cannot reach {target[0]}:{target[1]}: {exc}")
            return
        rest = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client.settimeout(None)
        upstream.settimeout(None)
        with upstream:
            pump(client, upstream, rest)
    except OSError:
        pass
    finally:
        client.close()


def serve(listen: tuple[str, int], allowed: set[tuple[str, int]],
          stop: threading.Event) -> None:
    print(f"registry-proxy on {listen[0]}:{listen[1]}, allowed: "
          + ", ".join(f"{h}:{p}" for h, p in sorted(allowed)), flush=True)
    serve_connections(listen, lambda client: handle(client, allowed), stop, backlog=64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.lab.join.registry_proxy",
                                     description="a joined lab's CONNECT proxy to registries")
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--allow", action="append", default=[], help="HOST or HOST:PORT")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    try:
        allowed = allowed_endpoints(args.allow)
    except ValueError as exc:
        parser.error(str(exc))
    serve((host, int(port)), allowed, stop_signals())
    return 0


if __name__ == "__main__":
    sys.exit(main())
