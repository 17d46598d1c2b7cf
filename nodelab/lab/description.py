"""`lab.json`: what a lab is (its name, subnet, node count, kube-proxy mode, the kubelets'
CrashLoopBackOff cap, the controllers' node monitor grace period, the kubelets' configuration
fragment and, for a joined lab, the API server it joined), fixed at its first `up` (or `join`);
only the grace period and the kubelets' fragment change later
(`Lab.set_node_monitor_grace_period`, `Lab.set_kubelet_config`, as edits of
kube-controller-manager's manifest and of each node's kubelet config file).

Later `up`s read it back, so the lab keeps its addresses for its whole life even if the host's
routes change meanwhile.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.lab.topology import Topology, plan_topology


@dataclass(frozen=True)
class LabDescription:
    name: str
    subnet: ipaddress.IPv4Network
    nodes: int
    proxy_mode: str = "iptables"  # kube-proxy's mode on every node: iptables | nftables
    # every kubelet's crashLoopBackOff.maxContainerRestartPeriod, seconds (None: upstream's 300 s)
    max_restart_backoff: float | None = None
    runtime: str = "nodelab"  # every node's CRI runtime: nodelab | containerd
    # the API server a joined lab's nodes joined (`nodelab join`); "" for an embedded lab
    joined: str = ""
    # the controllers' --node-monitor-grace-period, seconds (None: upstream's 50 s)
    node_monitor_grace_period: float | None = None
    # every kubelet's KubeletConfiguration fields beyond the lab's own (settings/kubelet.py)
    kubelet_config: dict[str, Any] | None = None

    @property
    def topology(self) -> Topology:
        return plan_topology(self.name, self.subnet, self.nodes)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        data = {"name": self.name, "subnet": str(self.subnet), "nodes": self.nodes,
                "proxy_mode": self.proxy_mode, "max_restart_backoff": self.max_restart_backoff,
                "runtime": self.runtime, "joined": self.joined,
                "node_monitor_grace_period": self.node_monitor_grace_period,
                "kubelet_config": self.kubelet_config}
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LabDescription | None:
        try:
            data = json.loads(path.read_text())
            cap = data.get("max_restart_backoff")  # absent in lab.json files from before the knob
            grace = data.get("node_monitor_grace_period")  # likewise
            kubelet = data.get("kubelet_config")  # likewise
            return cls(str(data["name"]), ipaddress.IPv4Network(data["subnet"]), int(data["nodes"]),
                       str(data.get("proxy_mode", "iptables")),
                       None if cap is None else float(cap), str(data.get("runtime", "nodelab")),
                       str(data.get("joined") or ""), None if grace is None else float(grace),
                       dict(kubelet) if isinstance(kubelet, dict) and kubelet else None)
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
