"""PodTopologySpread's Filter and Score as tables, cases after upstream's own tests
(podtopologyspread/filtering_test.go, scoring_test.go), and the system default constraints."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.plan import schedule
from nodelab.controlplane.scheduler.topology_spread import (
    ERR_CONSTRAINTS,
    ERR_MISSING_LABEL,
    default_selector,
    pod_constraints,
)
from nodelab.controlplane.scheduler.topology_spread_score import score

pytestmark = pytest.mark.unit

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
ZONES = {"a": "z1", "b": "z1", "x": "z2", "y": "z2"}
FOO = {"foo": "bar"}


def node(name: str, **labels: str) -> dict[str, Any]:
    found = {HOST: name, **({ZONE: ZONES[name]} if name in ZONES else {}), **labels}
    return {"metadata": {"name": name, "labels": found}, "spec": {},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def pod(name: str = "p", labels: dict[str, str] | None = None, namespace: str = "default",
        constraints: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}], **spec}
    if constraints:
        body["topologySpreadConstraints"] = constraints
    return {"metadata": {"name": name, "namespace": namespace,
                         "labels": FOO if labels is None else labels}, "spec": body}


def spread(key: str = ZONE, skew: int = 1, action: str = "DoNotSchedule",
           selector: Any = None, **extra: Any) -> dict[str, Any]:
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": action,
            "labelSelector": {"matchLabels": FOO} if selector is None else selector, **extra}


def pods(n: int, **kwargs: Any) -> list[dict[str, Any]]:
    return [pod(f"e{i}-{id(kwargs)}", **kwargs) for i in range(n)]


# (case, incoming, {node: pods}, {node: reason}: nodes left out fit)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, str]]] = [
    ("no constraints", pod(), {"a": pods(3), "x": []}, {}),
    ("no existing pods: every node fits", pod(constraints=[spread()]),
     {"a": [], "b": [], "x": [], "y": []}, {}),
    ("zone skew: 2 in z1, 1 in z2 -> only z2",
     pod(constraints=[spread()]), {"a": pods(1), "b": pods(1), "x": pods(1), "y": []},
     {"a": ERR_CONSTRAINTS, "b": ERR_CONSTRAINTS}),
    ("maxSkew 2 lets the fuller zone take one more",
     pod(constraints=[spread(skew=2)]), {"a": pods(1), "b": pods(1), "x": pods(1), "y": []}, {}),
    ("hostname skew", pod(constraints=[spread(HOST)]),
     {"a": pods(2), "b": pods(1), "x": []}, {"a": ERR_CONSTRAINTS, "b": ERR_CONSTRAINTS}),
    ("the pod not matching its own selector does not count itself",
     pod(labels={}, constraints=[spread(HOST)]), {"a": pods(1), "b": []}, {}),
    ("a node without the key", pod(constraints=[spread()]), {"a": [], "bare": []},
     {"bare": ERR_MISSING_LABEL}),
    ("terminating pods and other namespaces do not count",
     pod(constraints=[spread(HOST)]),
     {"a": [{**pod("t"), "metadata": {**pod("t")["metadata"],
                                      "deletionTimestamp": "2026-01-01T00:00:00Z"}},
            *pods(3, namespace="other")], "b": []}, {}),
    ("minDomains above the domains found treats the minimum as 0",
     pod(constraints=[spread(HOST, minDomains=3)]), {"a": pods(1), "b": pods(1)},
     {"a": ERR_CONSTRAINTS, "b": ERR_CONSTRAINTS}),
    ("minDomains met keeps the real minimum",
     pod(constraints=[spread(HOST, minDomains=2)]), {"a": pods(1), "b": pods(1)}, {}),
    ("nodeAffinityPolicy Honor: nodes the pod cannot use make no domain",
     pod(constraints=[spread(HOST)], nodeSelector={"disk": "ssd"}),
     {"a": pods(2), "b": []}, {"b": "node(s) didn't match Pod's node affinity/selector"}),
    ("nodeAffinityPolicy Ignore: they do",
     pod(constraints=[spread(HOST, nodeAffinityPolicy="Ignore")], nodeSelector={"disk": "ssd"}),
     {"a": pods(2), "b": []},
     {"a": ERR_CONSTRAINTS, "b": "node(s) didn't match Pod's node affinity/selector"}),
    ("matchLabelKeys narrows the selector to the pod's value",
     pod(labels={**FOO, "rev": "2"}, constraints=[spread(HOST, matchLabelKeys=["rev"])]),
     {"a": pods(2, labels={**FOO, "rev": "1"}), "b": []}, {}),
    ("ScheduleAnyway never filters", pod(constraints=[spread(HOST, action="ScheduleAnyway")]),
     {"a": pods(5), "b": []}, {}),
]


@pytest.mark.parametrize(("incoming", "placed", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filter(incoming: dict[str, Any], placed: dict[str, Any],
                expected: dict[str, str]) -> None:
    nodes = [NodeInfo(node(name, **({"disk": "ssd"} if name == "a" else {})), on)
             for name, on in placed.items()]
    decision = schedule(incoming, nodes)
    assert {n: r[0] for n, r in decision.rejected.items()} == expected


def test_node_taints_policy_honor_leaves_untolerated_nodes_out() -> None:
    tainted = node("b")
    tainted["spec"]["taints"] = [{"key": "k", "effect": "NoSchedule"}]
    # b (tainted) holds no matching pods: with Ignore it is the minimum domain (0)
    ignore = pod(constraints=[spread(HOST)], tolerations=[{"operator": "Exists"}])
    nodes = [NodeInfo(node("a"), pods(1)), NodeInfo(tainted, [])]
    assert schedule(ignore, nodes).rejected == {"a": (ERR_CONSTRAINTS,)}
    honor = pod(constraints=[spread(HOST, nodeTaintsPolicy="Honor")])
    decision = schedule(honor, nodes)
    assert decision.node == "a"  # b is no domain, so a's 1 is the minimum


SCORES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, int]]] = [
    ("hostname: fewer matching pods score higher",
     pod(constraints=[spread(HOST, action="ScheduleAnyway")]),
     # raw: round(pods * ln(3 nodes + 2)) = 3, 2, 0; 100 * (max + min - raw) / max
     {"a": pods(2), "b": pods(1), "x": []}, {"a": 0, "b": 33, "x": 100}),
    ("zone counts the whole zone", pod(constraints=[spread(ZONE, action="ScheduleAnyway")]),
     {"a": pods(2), "b": [], "x": pods(1)}, {"a": 33, "b": 33, "x": 100}),
    ("a node without the key scores 0",
     pod(constraints=[spread(ZONE, action="ScheduleAnyway")]),
     {"a": pods(1), "bare": []}, {"a": 100, "bare": 0}),
    ("all empty: all 100", pod(constraints=[spread(HOST, action="ScheduleAnyway")]),
     {"a": [], "b": []}, {"a": 100, "b": 100}),
]


@pytest.mark.parametrize(("incoming", "placed", "expected"),
                         [c[1:] for c in SCORES], ids=[c[0] for c in SCORES])
def test_score(incoming: dict[str, Any], placed: dict[str, Any],
               expected: dict[str, int]) -> None:
    nodes = [NodeInfo(node(name), on) for name, on in placed.items()]
    assert score(incoming, nodes, nodes, Cluster()) == expected


OWNED = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "controller": True}
REPLICA_SET = {"metadata": {"name": "web-1", "namespace": "default"},
               "spec": {"selector": {"matchLabels": {"app": "web", "hash": "1"}}}}
SERVICE = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"app": "web"}}}


def owned(name: str, labels: dict[str, str]) -> dict[str, Any]:
    found = pod(name, labels)
    found["metadata"]["ownerReferences"] = [OWNED]
    return found


def test_system_defaults_spread_pods_of_services_and_workloads() -> None:
    web = {"app": "web", "hash": "1"}
    cluster = Cluster(services=[SERVICE], replica_sets=[REPLICA_SET])
    assert default_selector(owned("w", web), cluster) == {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]},
                             {"key": "hash", "operator": "In", "values": ["1"]}]}
    constraints = pod_constraints(owned("w", web), cluster, "ScheduleAnyway")
    assert [(c.topology_key, c.max_skew) for c in constraints] == [(HOST, 3), (ZONE, 5)]
    assert pod_constraints(owned("w", web), cluster, "DoNotSchedule") == []
    assert pod_constraints(pod("lone", {"x": "y"}), cluster, "ScheduleAnyway") == []
    nodes = [NodeInfo(node("a"), [owned(f"w{i}", web) for i in range(4)]),
             NodeInfo(node("b"), [])]
    # raw a: 4 * ln(4) + 2 (hostname) + 4 * ln(3) + 4 (zone z1, shared with b) = 16; b: 10
    assert score(owned("w", web), nodes, nodes, cluster) == {"a": 62, "b": 100}
    # a pod of no Service or workload is not spread by default
    assert score(pod("lone", {"x": "y"}), nodes, nodes, cluster) == {"a": 0, "b": 0}
