"""The lab's addresses as a plan: which /24 it uses and where each node sits on it.

Embedded default (DESIGN.md section 4): one bridge per lab in the root namespace whose address is
the lab gateway (`.1`: the control plane and the registry listen there); node `i` at `.(10+i)`.
The node network is `172.29.<n>.0/24` with `n` derived from the lab name, moved to the next free
/24 of 172.29.0.0/16 when it overlaps a route the host already has (another lab's bridge
included). Pods get 10.244.0.0/16 (a /24 per node, assigned by node IPAM) and Services
10.96.0.0/16, as kind does.
"""

from __future__ import annotations

import ipaddress
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.lab.names import LabNames

NODE_SUPERNET = ipaddress.IPv4Network("172.29.0.0/16")
POD_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/16")
REGISTRY_PORT = 5000  # pulls, anonymous (read-only)
REGISTRY_PUSH_PORT = 5001  # pushes, with the lab's credentials (lab/registry/credentials.py)
APISERVER_PORT = 6443


@dataclass(frozen=True)
class NodePlan:
    index: int
    name: str
    netns: str
    veth: str
    ip: ipaddress.IPv4Address


@dataclass(frozen=True)
class Topology:
    lab: str
    subnet: ipaddress.IPv4Network
    nodes: tuple[NodePlan, ...]

    def node(self, name: str) -> NodePlan:
        """The plan of node `name` (`node1`, ...); a NodelabError naming the lab's nodes."""
        for node in self.nodes:
            if node.name == name:
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise NodelabError(f"lab {self.lab} has no node {name!r}: its nodes are {names}")

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return self.subnet.network_address + 1

    @property
    def registry(self) -> str:
        return f"{self.gateway}:{REGISTRY_PORT}"

    @property
    def registry_push(self) -> str:
        return f"{self.gateway}:{REGISTRY_PUSH_PORT}"

    @property
    def apiserver_url(self) -> str:
        return f"https://{self.gateway}:{APISERVER_PORT}"

    @property
    def bridge(self) -> str:
        return LabNames(self.lab).bridge

    @property
    def service_bridge(self) -> str:
        return LabNames(self.lab).service_bridge

    @property
    def pod_cidr(self) -> ipaddress.IPv4Network:
        return POD_CIDR

    @property
    def service_cidr(self) -> ipaddress.IPv4Network:
        return SERVICE_CIDR


def preferred_subnet(lab: str) -> ipaddress.IPv4Network:
    """The /24 a lab uses when nothing else is there: stable for a given name."""
    third = zlib.crc32(lab.encode()) % 256
    return ipaddress.IPv4Network(f"172.29.{third}.0/24")


def choose_subnet(
    lab: str, host_routes: Iterable[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network:
    """The first /24 from the lab's preferred one onwards that no host route overlaps."""
    routes = [r for r in host_routes if r.prefixlen > 0]  # a default route overlaps everything
    start = preferred_subnet(lab)
    candidates = list(NODE_SUPERNET.subnets(new_prefix=24))
    offset = candidates.index(start)
    for candidate in candidates[offset:] + candidates[:offset]:
        if not any(candidate.overlaps(route) for route in routes):
            return candidate
    raise NodelabError(
        f"no free /24 in {NODE_SUPERNET} for lab {lab}: every one overlaps a host route "
        "(remove some labs with `nodelab down --all`)"
    )


def plan_topology(lab: str, subnet: ipaddress.IPv4Network, node_count: int) -> Topology:
    names = LabNames(lab)
    nodes = tuple(
        NodePlan(
            index=i,
            name=names.node(i),
            netns=names.node_netns(i),
            veth=names.node_veth(i),
            ip=subnet.network_address + 10 + i,
        )
        for i in range(1, node_count + 1)
    )
    return Topology(lab=lab, subnet=subnet, nodes=nodes)
