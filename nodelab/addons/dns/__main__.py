"""`python -m nodelab.addons.dns [--domain cluster.local]`: the cluster DNS server in its pod."""

from __future__ import annotations

import argparse
import sys

from nodelab.addons.dns.server import serve
from nodelab.addons.entry import start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodelab-dns", description=__doc__)
    parser.add_argument("--domain", default="cluster.local", help="the cluster domain")
    args = parser.parse_args(argv)
    ready = start("nodelab-dns")
    if ready is None:
        return 2
    client, stop = ready
    serve(args.domain.rstrip(".").lower(), client, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
