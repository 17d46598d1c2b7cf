"""`python -m nodelab.kubelet`: the per-node kubelet process (runs until SIGTERM).

    python -m nodelab.kubelet --kubeconfig K --cri-endpoint unix:///path/cri.sock \\
        --node-name N --node-ip IP --state-dir D [--config kubelet-config.yaml]

Flags win over the config file, as upstream: `--node-labels`, `--register-with-taints`,
`--port`, `--tls-cert-file`, `--tls-private-key-file`, `--client-ca-file`.
Exit status 1 with a one-line message when it cannot start.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.host.daemon import refuse_to_start, setup_logging, stop_signals
from nodelab.kubelet.agent import Kubelet
from nodelab.kubelet.config import KubeletConfig, KubeletSettings, Taint


def _pairs(text: str) -> dict[str, str]:
    pairs = [p.partition("=") for p in text.split(",") if p]
    return {k: v for k, _, v in pairs}


def parse_args(argv: list[str] | None = None) -> KubeletSettings:
    parser = argparse.ArgumentParser(prog="python -m nodelab.kubelet",
                                     description="nodelab's kubelet")
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--cri-endpoint", required=True,
                        help="e.g. unix:///run/containerd/containerd.sock")
    parser.add_argument("--node-name", required=True)
    parser.add_argument("--node-ip", required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="a KubeletConfiguration YAML file")
    parser.add_argument("--node-labels", default="", help="k=v,k2=v2")
    parser.add_argument("--register-with-taints", default="", help="k=v:NoSchedule,...")
    parser.add_argument("--port", type=int)
    parser.add_argument("--tls-cert-file")
    parser.add_argument("--tls-private-key-file")
    parser.add_argument("--client-ca-file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    setup_logging("kubelet", args.log_level)
    config = KubeletConfig.load(args.config) if args.config else KubeletConfig()
    changes: dict[str, Any] = {}
    if args.node_labels:
        changes["node_labels"] = {**config.node_labels, **_pairs(args.node_labels)}
    if args.register_with_taints:
        changes["register_with_taints"] = tuple(
            Taint.parse(t) for t in args.register_with_taints.split(",") if t)
    for name in ("port", "tls_cert_file", "tls_private_key_file", "client_ca_file"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    return KubeletSettings(args.kubeconfig, args.cri_endpoint, args.node_name.lower(),
                           args.node_ip, args.state_dir, config.with_changes(**changes))


def main(argv: list[str] | None = None) -> int:
    done = stop_signals()
    try:
        settings = parse_args(argv)
        kubelet = Kubelet(settings)
    except NodelabError as exc:
        return refuse_to_start("kubelet", exc)
    def stop_when_done() -> None:
        done.wait()
        kubelet.stop_event.set()

    stopper = threading.Thread(target=stop_when_done, daemon=True)
    stopper.start()
    try:
        if not kubelet.start():
            return 0
    except NodelabError as exc:
        kubelet.stop()
        return refuse_to_start("kubelet", exc)
    logging.getLogger("nodelab.kubelet").info("kubelet %s running", settings.node_name)
    done.wait()
    kubelet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
