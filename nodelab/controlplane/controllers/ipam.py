"""The node IPAM controller: gives each node without one a pod range (see ipam_plan.py)."""

from __future__ import annotations

import ipaddress

from nodelab.controlplane.controllers.ipam_plan import pod_cidr_patch, used_ranges
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer


class NodeIpamController:
    name = "node-ipam"
    kinds: tuple[str, ...] = ("nodes",)
    periodic = False

    def sync(self, store: Store, writer: Writer) -> None:
        nodes = sorted(store.list("nodes"), key=lambda n: (
            n["metadata"].get("creationTimestamp") or "", n["metadata"]["name"]))
        used = used_ranges(nodes)
        for node in nodes:
            patch = pod_cidr_patch(node, used)
            if patch is None:
                continue
            writer.patch("nodes", None, node["metadata"]["name"], patch)
            used.add(ipaddress.IPv4Network(patch["spec"]["podCIDR"]))
