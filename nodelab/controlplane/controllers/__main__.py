"""`python -m nodelab.controlplane.controllers --kubeconfig K`: scheduler + controllers.

The lab runs this beside the API server process, as kube-scheduler and
kube-controller-manager run beside kube-apiserver: clients of the API, restartable on their own.
Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
from pathlib import Path

from kubernetes import config

from nodelab.controlplane.controllers.nodelifecycle_plan import GRACE_PERIOD
from nodelab.controlplane.controllers.setup import start_controllers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.controlplane.controllers",
                                     description="nodelab's scheduler and controllers")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--node-monitor-grace-period", type=float,
                        default=GRACE_PERIOD.total_seconds(),
                        help="seconds without a heartbeat before a node is Unknown")
    parser.add_argument("--resync", type=float, default=1.0,
                        help="seconds between syncs of the time-driven controllers")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    api = config.new_client_from_config(str(args.kubeconfig))  # type: ignore[no-untyped-call]
    loop = start_controllers(api, dt.timedelta(seconds=args.node_monitor_grace_period),
                             args.resync)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    logging.getLogger("nodelab.controllers").info(
        "controllers running: %s", ", ".join(c.name for c in loop.controllers))
    done.wait()
    loop.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
