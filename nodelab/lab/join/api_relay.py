"""The API relay of a joined lab: a TCP relay in the root namespace from `<gateway>:6443` to
the joined cluster's API server.

A joined lab's node daemons live in node namespaces that reach only the lab subnet; the
cluster's API server (kind's `https://127.0.0.1:<port>`, or any address the root namespace
reaches) is not there. Instead of NAT, IP forwarding or host firewall rules, the lab runs
this relay (`python -m nodelab.lab.join.api_relay --listen GW:6443 --target HOST:PORT`), a
supervised daemon like the others: it accepts on the lab gateway and copies bytes, unchanged,
to the API server. TLS is end to end (the node kubeconfigs name the server's own host with
`tls-server-name`, so the certificate is verified against the cluster's CA as ever).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

from nodelab.host.daemon import stop_signals
from nodelab.host.listener import serve_connections
from nodelab.host.relay import pump


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: write HOST:PORT")
    return host.strip("[]"), int(port)


def _serve_one(client: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError as exc:
        print(f"api-relay: cannot reach {target[0]}:{target[1]}: {exc}", flush=True)
        client.close()
        return
    upstream.settimeout(None)
    client.settimeout(None)
    try:
        pump(client, upstream)
    finally:
        upstream.close()
        client.close()


def serve(listen: tuple[str, int], target: tuple[str, int], stop: threading.Event) -> None:
    print(f"api-relay: {listen[0]}:{listen[1]} -> {target[0]}:{target[1]}", flush=True)
    serve_connections(listen, lambda client: _serve_one(client, target), stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.lab.join.api_relay",
                                     description="relay a joined lab's gateway to its cluster")
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT")
    parser.add_argument("--target", type=_address, required=True, help="HOST:PORT")
    args = parser.parse_args(argv)
    serve(args.listen, args.target, stop_signals())
    return 0


if __name__ == "__main__":
    sys.exit(main())
