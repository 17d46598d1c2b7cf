"""`python -m nodelab.proxy`: the per-node proxy process (started by the lab inside the node's
network namespace).

It builds a `Proxier` from its flags, then runs the list+watch sync loop against the API server
named by the kubeconfig until SIGTERM/SIGINT; `--cleanup` removes both modes' rules and exits.
The metrics JSON (`--metrics-file`) is rewritten after every sync for the views to read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals
from nodelab.proxy.model import ProxyNode
from nodelab.proxy.proxier import MODES, Proxier


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nodelab.proxy", description="nodelab kube-proxy for one node"
    )
    p.add_argument("--kubeconfig", type=Path, help="kubeconfig of the cluster")
    p.add_argument("--node-name", required=True, help="this node's name (for Local policies)")
    p.add_argument("--mode", choices=MODES, default="iptables")
    p.add_argument("--netns", help="apply rules in this network namespace (default: current)")
    p.add_argument(
        "--cluster-cidr",
        default="10.244.0.0/16",
        help="pod CIDR of the cluster, for the local-traffic detector ('' for none)",
    )
    p.add_argument("--service-cidr", default="10.96.0.0/16")
    p.add_argument("--masquerade-all", action="store_true")
    p.add_argument("--metrics-file", type=Path, help="write sync metrics JSON here")
    p.add_argument("--min-sync-period", type=float, default=1.0)
    p.add_argument("--sync-period", type=float, default=30.0)
    p.add_argument("--cleanup", action="store_true", help="remove all proxy rules and exit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging("proxy")
    node = ProxyNode(
        name=args.node_name,
        cluster_cidr=args.cluster_cidr or None,
        service_cidr=args.service_cidr or None,
        masquerade_all=args.masquerade_all,
    )
    proxier = Proxier(node, args.mode, args.netns, metrics_path=args.metrics_file)
    try:
        if args.cleanup:
            proxier.remove_rules()
            return 0
        from nodelab.kube.restclient import client_for
        from nodelab.proxy.watch import run_proxy

        # As the official client: $KUBECONFIG, else ~/.kube/config.
        default = Path(os.environ.get("KUBECONFIG") or "~/.kube/config").expanduser()
        api = client_for(args.kubeconfig or default)
        stop = stop_signals()
        run_proxy(
            proxier,
            api,
            stop,
            min_sync_period=args.min_sync_period,
            sync_period=args.sync_period,
        )
    except NodelabError as exc:
        return refuse_to_start("nodelab proxy", exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
