"""`python -m nodelab.podnet --kubeconfig K --node-name N --cni-conf-dir D --data-dir D`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubernetes import config

from nodelab.host.daemon import setup_logging, stop_signals
from nodelab.podnet.agent import PodNetworkAgent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.podnet",
                                     description="nodelab's pod network agent (kindnet's role)")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--cni-conf-dir", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="host-local's reservation directory")
    parser.add_argument("--mtu", type=int, default=1500)
    parser.add_argument("--cni-version", default="1.1.0",
                        help="the conflist's cniVersion (1.0.0 for containerd 1.6's libcni)")
    parser.add_argument("--fallback-pod-cidr",
                        help="pod range to use when the cluster assigns the Node none "
                             "(a joined lab's own range)")
    args = parser.parse_args(argv)
    setup_logging("podnet")
    api = config.new_client_from_config(str(args.kubeconfig))  # type: ignore[no-untyped-call]
    agent = PodNetworkAgent(api, args.node_name, args.cni_conf_dir, args.data_dir, args.mtu,
                             args.cni_version, args.fallback_pod_cidr)
    stop_signals(on_stop=agent.stop)
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
