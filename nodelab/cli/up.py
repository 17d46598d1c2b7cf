"""`nodelab up [--name L] [--nodes N] [--proxy-mode M] [--max-restart-backoff D]
[--runtime nodelab|containerd] [--node-monitor-grace-period D] [--kubelet-config FILE]`: bring
a lab up (or check it, if it is up already).

A flag left out means "whatever the lab has" for a lab that is up already (only a different
explicit value is an error), and the default for a new one (settings/up.py)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nodelab.cli.progress import stderr_progress
from nodelab.errors import NodelabError
from nodelab.kubelet.config import parse_duration
from nodelab.lab.lab import Lab
from nodelab.lab.names import DEFAULT_LAB
from nodelab.lab.settings.kubelet import KubeletConfigFragment, load_kubelet_config
from nodelab.lab.settings.up import NODE_MONITOR_GRACE, RESTART_BACKOFF


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("up", help="bring a lab up (idempotent)")
    parser.add_argument("--name", default=DEFAULT_LAB, help=f"lab name (default {DEFAULT_LAB})")
    parser.add_argument("--nodes", type=int, default=None,
                        help="number of worker nodes (default: the lab's, or 1 for a new lab)")
    parser.add_argument("--proxy-mode", choices=("iptables", "nftables", "ipvs"), default=None,
                        help="kube-proxy's mode on every node (default: the lab's, or iptables "
                             "for a new lab; ipvs needs the kernel's ip_vs)")
    parser.add_argument("--max-restart-backoff", type=restart_backoff, default=None,
                        metavar="DURATION",
                        help="cap of every kubelet's CrashLoopBackOff, 1s to 5m, e.g. 10s for "
                             "short demos (crashLoopBackOff.maxContainerRestartPeriod; "
                             "default: the lab's, or upstream's 5m for a new lab)")
    parser.add_argument("--runtime", choices=("nodelab", "containerd"), default=None,
                        help="every node's CRI runtime: nodelab's own, or Debian's containerd "
                             "(default: the lab's, or nodelab for a new lab)")
    parser.add_argument("--node-monitor-grace-period", type=grace_period, default=None,
                        metavar="DURATION",
                        help="how long the node lifecycle controller waits for a node's "
                             "heartbeat before marking it Unknown, 20s to 10m, e.g. 20s for "
                             "demos (kube-controller-manager's flag; default: the lab's, or "
                             "upstream's 50s for a new lab)")
    parser.add_argument("--kubelet-config", type=kubelet_config, default=None, metavar="FILE",
                        help="a KubeletConfiguration YAML (or a part of one) every node's "
                             "kubelet gets, e.g. evictionHard (default: the lab's, or none "
                             "for a new lab; the lab's own fields are refused by name)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    nodes = f" with {args.nodes} node(s)" if args.nodes is not None else ""
    print(f"bringing lab {args.name} up{nodes}", file=sys.stderr)
    lab = Lab.up(args.name, args.nodes, proxy_mode=args.proxy_mode,
                 max_restart_backoff=args.max_restart_backoff, runtime=args.runtime,
                 node_monitor_grace_period=args.node_monitor_grace_period,
                 kubelet_config=args.kubelet_config, progress=stderr_progress)
    print(f"lab {lab.name} is up in {time.monotonic() - started:.1f}s", file=sys.stderr)
    print(lab.status().render())
    return 0


def _checked_duration(text: str, check: Callable[[float], None]) -> float:
    try:
        seconds = parse_duration(text)
        check(seconds)
    except NodelabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return seconds


def restart_backoff(text: str) -> float:
    """Seconds in a Go duration (`10s`, `1m`, `1m30s`) between 1s and 5m, or a clear error."""
    return _checked_duration(text, RESTART_BACKOFF.check)


def grace_period(text: str) -> float:
    """Seconds in a Go duration (`20s`, `1m`) between 20s and 10m, or a clear error."""
    return _checked_duration(text, NODE_MONITOR_GRACE.check)


def kubelet_config(path: str) -> KubeletConfigFragment:
    """The fields of a KubeletConfiguration file, checked as the kubelet reads them."""
    try:
        return load_kubelet_config(Path(path))
    except NodelabError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
