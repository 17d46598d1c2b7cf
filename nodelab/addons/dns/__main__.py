"""`python -m nodelab.addons.dns [--domain cluster.local]`: the cluster DNS server in its pod."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from nodelab.addons.dns.server import serve
from nodelab.addons.incluster import InCluster, InClusterError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodelab-dns", description=__doc__)
    parser.add_argument("--domain", default="cluster.local", help="the cluster domain")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        client = InCluster.from_environment()
    except InClusterError as exc:
        print(f"nodelab-dns: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(args.domain.rstrip(".").lower(), client, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
