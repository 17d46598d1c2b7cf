"""`python -m nodelab.controlplane.controllers --kubeconfig K`: scheduler + controllers
(+ the CSR signer, given the CA's files).

The lab runs this beside the API server process, as kube-scheduler and
kube-controller-manager run beside kube-apiserver: clients of the API, restartable on their own.
Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

from nodelab.controlplane.controllers.csrsigning import load_ca
from nodelab.controlplane.controllers.nodelifecycle_plan import GRACE_PERIOD
from nodelab.controlplane.controllers.setup import start_controllers
from nodelab.host.daemon import setup_logging, stop_signals
from nodelab.kube.restclient import client_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.controlplane.controllers",
                                     description="nodelab's scheduler and controllers")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--node-monitor-grace-period", type=float,
                        default=GRACE_PERIOD.total_seconds(),
                        help="seconds without a heartbeat before a node is Unknown")
    parser.add_argument("--resync", type=float, default=1.0,
                        help="seconds between syncs of the time-driven controllers")
    parser.add_argument("--cluster-signing-cert-file", type=Path,
                        help="the CA certificate that signs approved kubelet CSRs")
    parser.add_argument("--cluster-signing-key-file", type=Path,
                        help="its private key (both flags, or no CSR signer runs)")
    args = parser.parse_args(argv)
    if bool(args.cluster_signing_cert_file) != bool(args.cluster_signing_key_file):
        parser.error("give both --cluster-signing-cert-file and --cluster-signing-key-file")
    signing_ca = (load_ca(args.cluster_signing_cert_file, args.cluster_signing_key_file)
                  if args.cluster_signing_cert_file else None)
    setup_logging("controllers")
    api = client_for(args.kubeconfig)  # the official client only if the kubeconfig needs it
    loop = start_controllers(api, dt.timedelta(seconds=args.node_monitor_grace_period),
                             args.resync, signing_ca)
    done = stop_signals()
    logging.getLogger("nodelab.controllers").info(
        "controllers running: %s", ", ".join(c.name for c in loop.controllers))
    done.wait()
    loop.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
