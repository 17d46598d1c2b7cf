"""The pod network plan: host-gw routes only to nodes on this node's own network (a joined
lab's node does not route to the cluster's other nodes), and the fallback pod range."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from nodelab.podnet.plan import FALLBACK_GRACE, fallback_conflist_cidr, pod_routes

pytestmark = pytest.mark.unit


def node(name: str, ip: str, cidr: str | None) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


NODES = [node("node1", "172.29.1.11", "10.244.0.0/24"),
         node("jb-node1", "172.29.7.11", "10.244.1.0/24"),
         node("jb-node2", "172.29.7.12", "10.244.2.0/24"),
         node("kind-control-plane", "172.18.0.2", "10.244.3.0/24")]


def test_every_other_node_without_a_link_filter() -> None:
    assert [r.node for r in pod_routes("jb-node1", NODES)] == [
        "node1", "jb-node2", "kind-control-plane"]


def test_only_nodes_on_this_nodes_network() -> None:
    routes = pod_routes("jb-node1", NODES, [ipaddress.IPv4Network("172.29.7.0/24"),
                                            ipaddress.IPv4Network("10.244.1.0/24")])
    assert [(str(r.destination), str(r.via)) for r in routes] == [
        ("10.244.2.0/24", "172.29.7.12")]


def test_fallback_range_only_after_the_grace_and_never_over_an_assigned_one() -> None:
    own = node("jb-node1", "172.29.7.11", None)
    assert fallback_conflist_cidr(own, "10.250.7.0/27", 0.0) is None
    assert fallback_conflist_cidr(own, "10.250.7.0/27", FALLBACK_GRACE) == "10.250.7.0/27"
    assert fallback_conflist_cidr(None, "10.250.7.0/27", 99.0) is None
    assert fallback_conflist_cidr(own, None, 99.0) is None
    assigned = node("jb-node1", "172.29.7.11", "10.244.1.0/24")
    assert fallback_conflist_cidr(assigned, "10.250.7.0/27", 99.0) == "10.244.1.0/24"
