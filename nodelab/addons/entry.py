"""What every add-on's `main` starts with: logging to stderr, the in-cluster client from the
pod's service account, and a stop event set by SIGTERM or SIGINT. (The add-ons import no other
nodelab package, so they do not use the daemons' entry helper.)"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from nodelab.addons.incluster import InCluster, InClusterError


def start(program: str) -> tuple[InCluster, threading.Event] | None:
    """(client, stop event); None, after saying why on stderr, outside a pod."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        client = InCluster.from_environment()
    except InClusterError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return client, stop
