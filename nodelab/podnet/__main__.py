"""`python -m nodelab.podnet --kubeconfig K --node-name N --cni-conf-dir D --data-dir D`.

Besides the pod network agent, podnet serves the node's CNI plugin calls: nodelab's plugins are
thick (nodelab/cni/server.py), so the executables a runtime runs hand each call to this
daemon, which runs in the node's network namespace. It serves before the agent writes the
conflist, so no runtime can call a plugin before the daemon answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nodelab.cni.server import CNIServer
from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals
from nodelab.kube.restclient import client_for
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
    api = client_for(args.kubeconfig)  # the small client unless the kubeconfig needs the official
    agent = PodNetworkAgent(api, args.node_name, args.cni_conf_dir, args.data_dir, args.mtu,
                             args.cni_version, args.fallback_pod_cidr)
    try:
        cni = CNIServer()
    except NodelabError as error:
        return refuse_to_start("podnet", error)
    cni.start()
    stop_signals(on_stop=agent.stop)
    try:
        agent.run()
    finally:
        cni.shutdown()
        cni.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
