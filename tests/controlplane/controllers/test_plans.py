"""Controller plans: node IPAM ranges and EndpointSlices, as upstream computes them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from nodelab.controlplane.controllers.endpointslice_plan import reconcile
from nodelab.controlplane.controllers.ipam_plan import allocate, pod_cidr_patch, used_ranges
from nodelab.errors import NodelabError

pytestmark = pytest.mark.unit


def test_ipam_hands_out_the_lowest_free_24_and_reuses_released_ones() -> None:
    nodes = [{"spec": {"podCIDRs": ["10.244.0.0/24"]}}, {"spec": {"podCIDRs": ["10.244.2.0/24"]}}]
    used = used_ranges(nodes)
    assert str(allocate(used)) == "10.244.1.0/24"
    assert pod_cidr_patch({"spec": {}}, used) == {
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}}
    assert pod_cidr_patch(nodes[0], used) is None
    with pytest.raises(NodelabError, match="no free /24"):
        allocate({ipaddress.IPv4Network("10.244.0.0/16")})


def service(**spec: Any) -> dict[str, Any]:
    base = {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80,
                                                   "targetPort": "http", "protocol": "TCP"}]}
    return {"metadata": {"name": "web", "namespace": "default", "uid": "svc-uid"},
            "spec": {**base, **spec}}


def pod(name: str, ip: str | None, ready: bool = True, port: int = 8080,
        terminating: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"{name}-uid",
                                "labels": labels or {"app": "web"}}
    if terminating:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": metadata,
        "spec": {"nodeName": "node1", "containers": [
            {"name": "web", "ports": [{"name": "http", "containerPort": port}]}]},
        "status": {"podIP": ip, "phase": "Running",
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def test_slices_hold_ready_serving_and_terminating_endpoints() -> None:
    pods = [pod("a", "10.244.0.2"), pod("b", "10.244.0.3", ready=False),
            pod("c", "10.244.0.4", terminating=True), pod("d", None),
            pod("e", "10.244.0.6", labels={"app": "other"})]
    plan = reconcile(service(), pods, [])
    assert len(plan.create) == 1
    created = plan.create[0]
    assert created["metadata"]["generateName"] == "web-"
    assert created["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
    assert created["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    conditions = {e["targetRef"]["name"]: e["conditions"] for e in created["endpoints"]}
    assert conditions == {
        "a": {"ready": True, "serving": True, "terminating": False},
        "b": {"ready": False, "serving": False, "terminating": False},
        "c": {"ready": False, "serving": True, "terminating": True},
    }
    assert created["endpoints"][0]["nodeName"] == "node1"


def test_named_ports_that_resolve_differently_split_the_slices() -> None:
    plan = reconcile(service(), [pod("a", "10.244.0.2", port=8080),
                                 pod("b", "10.244.0.3", port=9090)], [])
    assert sorted(s["ports"][0]["port"] for s in plan.create) == [8080, 9090]


def test_reconcile_updates_in_place_and_deletes_leftovers() -> None:
    svc = service()
    first = reconcile(svc, [pod("a", "10.244.0.2")], []).create[0]
    existing = {**first, "metadata": {**first["metadata"], "name": "web-abc",
                                      "resourceVersion": "7"}}
    stale = {**first, "ports": [{"name": "old", "port": 1, "protocol": "TCP"}],
             "metadata": {"name": "web-old"}}
    plan = reconcile(svc, [pod("a", "10.244.0.2"), pod("b", "10.244.0.3")], [existing, stale])
    assert not plan.create
    assert [u["metadata"]["name"] for u in plan.update] == ["web-abc"]
    assert plan.update[0]["metadata"]["resourceVersion"] == "7"
    assert plan.delete == ["web-old"]
    unchanged = reconcile(svc, [pod("a", "10.244.0.2")], [existing])
    assert unchanged.empty


def test_headless_and_selectorless_services() -> None:
    headless = service(clusterIP="None")
    created = reconcile(headless, [pod("a", "10.244.0.2")], []).create[0]
    assert created["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert reconcile(service(selector=None), [pod("a", "10.244.0.2")], []).empty


def test_a_service_without_pods_gets_one_empty_slice() -> None:
    plan = reconcile(service(), [], [])
    assert [(s["endpoints"], s["ports"]) for s in plan.create] == [([], [])]


def test_publish_not_ready_addresses_marks_every_endpoint_ready() -> None:
    created = reconcile(service(publishNotReadyAddresses=True),
                        [pod("b", "10.244.0.3", ready=False)], []).create[0]
    assert created["endpoints"][0]["conditions"]["ready"] is True


def test_a_slice_whose_ports_changed_is_rewritten_not_replaced() -> None:
    empty = reconcile(service(), [], []).create[0]
    existing = {**empty, "metadata": {**empty["metadata"], "name": "web-1",
                                      "resourceVersion": "3"}}
    plan = reconcile(service(), [pod("a", "10.244.0.2")], [existing])
    assert not plan.create and not plan.delete
    assert [u["metadata"]["name"] for u in plan.update] == ["web-1"]
