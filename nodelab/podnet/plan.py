"""The pod network plan of one node: its CNI conflist and its routes to other nodes' pods."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

NETWORK_NAME = "nodelab"
BRIDGE = "cni0"
CLUSTER_POD_CIDR = ipaddress.IPv4Network("10.244.0.0/16")


def conflist(pod_cidr: str, data_dir: str, *, mtu: int = 1500,
             bridge: str = BRIDGE, cni_version: str = "1.1.0") -> dict[str, Any]:
    """The node's network: a bridge with the first address of the range as the pods' gateway,
    host-local handing out the rest, and portmap for hostPorts (CNI 1.1.0; 1.0.0 for
    containerd 1.6, whose libcni stops there)."""
    return {
        "cniVersion": cni_version,
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "isDefaultGateway": True,
                "hairpinMode": True,
                "mtu": mtu,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "dataDir": data_dir,
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


@dataclass(frozen=True)
class PodRoute:
    destination: ipaddress.IPv4Network
    via: ipaddress.IPv4Address
    node: str


def internal_ip(node: Mapping[str, Any]) -> ipaddress.IPv4Address | None:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            try:
                return ipaddress.IPv4Address(address.get("address"))
            except ValueError:
                return None
    return None


def pod_routes(own_node: str, nodes: Sequence[Mapping[str, Any]]) -> list[PodRoute]:
    """host-gw routes: every other node's pod range via that node's InternalIP."""
    routes = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        cidr = (node.get("spec") or {}).get("podCIDR")
        via = internal_ip(node)
        if name == own_node or not cidr or via is None:
            continue
        routes.append(PodRoute(ipaddress.IPv4Network(cidr), via, str(name)))
    return sorted(routes, key=lambda r: (r.destination, r.node))
