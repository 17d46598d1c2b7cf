"""The `controlplane` process: `python -m nodelab.controlplane --state-dir DIR --listen H:P`.

Runs the API server until SIGTERM or SIGINT, logging one line per request to stdout. It is
ready when `/readyz` answers 200. With `--controllers` the scheduler and controllers run in
the same process (the lab's `controlplane` daemon); without, it is the API server alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from nodelab.controlplane.apiserver import DEFAULT_PORT, ApiServer
from nodelab.controlplane.storage.store import HISTORY_LIMIT
from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host:
        return text, DEFAULT_PORT
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.controlplane",
                                     description="nodelab's embedded Kubernetes API server")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--listen", default=f"127.0.0.1:{DEFAULT_PORT}", help="HOST:PORT")
    parser.add_argument("--host", action="append", default=[],
                        help="extra name or IP for the serving certificate (repeatable)")
    parser.add_argument("--watch-history", type=int, default=HISTORY_LIMIT,
                        help="changes kept for watch resumption (older ones answer 410)")
    parser.add_argument("--controllers", action="store_true",
                        help="also run the scheduler and controllers in this process")
    parser.add_argument("--kubelet-certificate-authority", type=Path,
                        help="verify kubelets' serving certificates against this CA")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging("controlplane", logging.DEBUG if args.verbose else logging.INFO)
    host, port = _listen(args.listen)
    try:
        server = ApiServer(args.state_dir, host, port, args.host, args.watch_history,
                           args.kubelet_certificate_authority)
    except (NodelabError, OSError) as exc:
        return refuse_to_start("controlplane: cannot start", exc)
    done = stop_signals()
    server.start()
    if args.controllers:
        server.start_controllers()
    sys.stdout.flush()
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
