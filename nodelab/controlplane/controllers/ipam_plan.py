"""Node IPAM: a /24 per node from the cluster CIDR (10.244.0.0/16), as `spec.podCIDR(s)`.

A node keeps its range for life; the range returns to the pool when the node is deleted. The
lowest free range is handed out, so a lab's first node gets 10.244.0.0/24 (kind counts the
same way).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from nodelab.errors import NodelabError

CLUSTER_CIDR = ipaddress.IPv4Network("10.244.0.0/16")
NODE_MASK = 24


def used_ranges(nodes: Iterable[Mapping[str, Any]]) -> set[ipaddress.IPv4Network]:
    used = set()
    for node in nodes:
        for cidr in (node.get("spec") or {}).get("podCIDRs") or []:
            network = ipaddress.ip_network(cidr, strict=False)
            if isinstance(network, ipaddress.IPv4Network):
                used.add(network)
    return used


def allocate(
    used: set[ipaddress.IPv4Network],
    cluster: ipaddress.IPv4Network = CLUSTER_CIDR,
    mask: int = NODE_MASK,
) -> ipaddress.IPv4Network:
    for candidate in cluster.subnets(new_prefix=mask):
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise NodelabError(f"node IPAM: no free /{mask} left in {cluster}")


def pod_cidr_patch(
    node: Mapping[str, Any], used: set[ipaddress.IPv4Network]
) -> dict[str, Any] | None:
    """The patch that gives `node` its range, or None when it has one."""
    if (node.get("spec") or {}).get("podCIDRs"):
        return None
    cidr = str(allocate(used))
    return {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}
