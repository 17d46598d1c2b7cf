"""The scheduler's decisions as pure plans, checked against upstream's rules and wording."""

from __future__ import annotations

import random
from typing import Any

import pytest

from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.plan import schedule, unschedulable_message

pytestmark = pytest.mark.unit


def node(name: str, cpu: str = "2", memory: str = "4Gi", pods: str = "110",
         labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None,
         unschedulable: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {"kubernetes.io/hostname": name}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(cpu: str | None = None, memory: str | None = None, **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = {"name": "c", "image": "busybox", "resources": {"requests": requests}}
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [container], **spec}}


def test_the_emptier_node_wins() -> None:
    busy = NodeInfo(node("busy"), [pod(cpu="1500m", memory="1Gi")])
    idle = NodeInfo(node("idle"), [])
    decision = schedule(pod(cpu="100m"), [busy, idle])
    assert decision.node == "idle"
    assert decision.scores["idle"] > decision.scores["busy"]


def test_upstream_failed_scheduling_message() -> None:
    tainted = NodeInfo(node("cp", taints=[{"key": "node-role.kubernetes.io/control-plane",
                                           "effect": "NoSchedule"}]))
    small = [NodeInfo(node(f"w{i}", cpu="1")) for i in range(2)]
    decision = schedule(pod(cpu="1500m"), [tainted, *small])
    assert decision.node is None
    assert decision.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
    )


def test_tolerations_exists_equal_and_effects() -> None:
    taint = {"key": "dedicated", "value": "lab", "effect": "NoSchedule"}
    target = [NodeInfo(node("n", taints=[taint]))]
    assert schedule(pod(), target).node is None
    for toleration in (
        {"key": "dedicated", "operator": "Equal", "value": "lab"},
        {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"},
        {"operator": "Exists"},
    ):
        assert schedule(pod(tolerations=[toleration]), target).node == "n", toleration
    wrong = {"key": "dedicated", "value": "other"}
    assert schedule(pod(tolerations=[wrong]), target).node is None
    prefer = [NodeInfo(node("n", taints=[{**taint, "effect": "PreferNoSchedule"}]))]
    assert schedule(pod(), prefer).node == "n"


def test_node_selector_and_required_affinity() -> None:
    nodes = [NodeInfo(node("a", labels={"disk": "ssd", "zone": "1"})),
             NodeInfo(node("b", labels={"disk": "hdd", "zone": "2"}))]
    assert schedule(pod(nodeSelector={"disk": "ssd"}), nodes).node == "a"
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "Gt", "values": ["1"]}]}]}}}
    assert schedule(pod(affinity=affinity), nodes).node == "b"
    none = schedule(pod(nodeSelector={"disk": "nvme"}), nodes)
    assert none.message == "0/2 nodes are available: 2 node(s) didn't match Pod's node " \
        "affinity/selector."


def test_unschedulable_node_and_node_name() -> None:
    nodes = [NodeInfo(node("a", unschedulable=True)), NodeInfo(node("b"))]
    assert schedule(pod(), nodes).node == "b"
    assert schedule(pod(nodeName="a"), nodes).message == (
        "0/2 nodes are available: 1 node(s) didn't match the requested node name, "
        "1 node(s) were unschedulable.")


def test_host_port_conflicts_and_pod_count() -> None:
    with_port = pod()
    with_port["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    nodes = [NodeInfo(node("a"), [with_port])]
    assert schedule(with_port, nodes).rejected["a"] == (
        "node(s) didn't have free ports for the requested pod ports",)
    full = [NodeInfo(node("a", pods="1"), [pod()])]
    assert schedule(pod(), full).rejected["a"] == ("Too many pods",)


def test_init_containers_and_limits_count_as_requests() -> None:
    spec_pod = pod(cpu="100m")
    spec_pod["spec"]["initContainers"] = [
        {"name": "init", "resources": {"limits": {"cpu": "3"}}}]
    assert schedule(spec_pod, [NodeInfo(node("a", cpu="2"))]).rejected["a"] == (
        "Insufficient cpu",)


def test_ties_are_broken_at_random_among_the_best() -> None:
    nodes = [NodeInfo(node("a")), NodeInfo(node("b"))]
    chosen = {schedule(pod(), nodes, random.Random(seed)).node for seed in range(20)}
    assert chosen == {"a", "b"}


def test_no_nodes_at_all() -> None:
    assert unschedulable_message(0, {}) == "no nodes available to schedule pods"


def test_the_queue_takes_higher_priority_first_then_the_older_pod() -> None:
    from nodelab.controlplane.scheduler.loop import queue_order

    def queued(name: str, priority: int | None, created: str) -> dict[str, Any]:
        spec = {} if priority is None else {"priority": priority}
        return {"metadata": {"name": name, "creationTimestamp": created}, "spec": spec}

    pods = [queued("old-low", None, "2026-01-01T00:00:00Z"),
            queued("new-high", 1000, "2026-01-01T00:00:09Z"),
            queued("old-high", 1000, "2026-01-01T00:00:01Z"),
            queued("critical", 2000000000, "2026-01-01T00:00:05Z")]
    assert [p["metadata"]["name"] for p in sorted(pods, key=queue_order)] == [
        "critical", "old-high", "new-high", "old-low"]


def test_preferred_node_affinity_is_scored_as_upstream() -> None:
    """NodeAffinity's score: the matched preferred weights, normalized over the feasible
    nodes (100 * sum / highest), weight 2 beside the resource scores."""
    from nodelab.controlplane.scheduler.scoring import node_affinity, normalize

    ssd = node("fast", labels={"disk": "ssd", "zone": "a"})
    hdd = node("slow", labels={"disk": "hdd", "zone": "a"})
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 20, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "Exists"}]}},
        {"weight": 50, "preference": {}},  # an empty term matches nothing
    ]}}
    wanting = pod(affinity=preferred)
    raw = {n["metadata"]["name"]: node_affinity(wanting, NodeInfo(n)) for n in (ssd, hdd)}
    assert raw == {"fast": 100, "slow": 20}
    assert normalize(raw) == {"fast": 100, "slow": 20}
    assert normalize({"a": 0, "b": 0}) == {"a": 0, "b": 0}
    for _ in range(10):  # the preference outweighs the resource scores' differences
        busy_ssd = NodeInfo(ssd, [pod(cpu="1")])
        assert schedule(wanting, [busy_ssd, NodeInfo(hdd)]).node == "fast"
    decision = schedule(wanting, [NodeInfo(ssd), NodeInfo(hdd)])
    assert decision.scores["fast"] - decision.scores["slow"] == 2 * (100 - 20)
