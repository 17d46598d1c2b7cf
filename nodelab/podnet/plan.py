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


def pod_routes(own_node: str, nodes: Sequence[Mapping[str, Any]],
               on_link: Sequence[ipaddress.IPv4Network] | None = None) -> list[PodRoute]:
    """host-gw routes: every other node's pod range via that node's InternalIP, for the nodes
    this one reaches directly (`on_link`: its connected networks; None: every node). host-gw
    needs one L2 network, as flannel's host-gw and kindnet do: a joined lab's node does not
    route to the cluster's other nodes, which sit on another network."""
    routes = []
    for node in nodes:
        name = (node.get("metadata") or {}).get("name")
        cidr = (node.get("spec") or {}).get("podCIDR")
        via = internal_ip(node)
        if name == own_node or not cidr or via is None:
            continue
        if on_link is not None and not any(via in network for network in on_link):
            continue
        routes.append(PodRoute(ipaddress.IPv4Network(cidr), via, str(name)))
    return sorted(routes, key=lambda r: (r.destination, r.node))


FALLBACK_GRACE = 20.0  # seconds a Node may wait for the cluster's node IPAM


def fallback_conflist_cidr(own: Mapping[str, Any] | None, fallback: str | None,
                           waited: float) -> str | None:
    """The pod range to use: the Node's `spec.podCIDR`; else, once the Node has existed
    `FALLBACK_GRACE` seconds without one (a cluster that assigns none), the lab's fallback."""
    cidr = ((own or {}).get("spec") or {}).get("podCIDR")
    if cidr:
        return str(cidr)
    if own is not None and fallback and waited >= FALLBACK_GRACE:
        return fallback
    return None
