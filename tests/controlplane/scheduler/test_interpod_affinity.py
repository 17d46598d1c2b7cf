"""InterPodAffinity's Filter and Score as tables, cases after upstream's own tests
(interpodaffinity/filtering_test.go, scoring_test.go): a pod, the pods already placed, and what
each node answers."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.interpod_affinity import (
    ERR_AFFINITY_RULES,
    ERR_ANTI_AFFINITY_RULES,
    ERR_EXISTING_ANTI_AFFINITY,
)
from nodelab.controlplane.scheduler.interpod_affinity_score import score
from nodelab.controlplane.scheduler.plan import schedule

pytestmark = pytest.mark.unit

HOST, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
NODE_LABELS = {"a": {HOST: "a", ZONE: "z1"}, "b": {HOST: "b", ZONE: "z1"},
               "c": {HOST: "c", ZONE: "z2"}, "bare": {HOST: "bare"}}


def node(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": NODE_LABELS[name]},
            "spec": {}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def pod(name: str = "p", labels: dict[str, str] | None = None, namespace: str = "default",
        **affinity: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if affinity:
        spec["affinity"] = affinity
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": spec}


def term(key: str = HOST, selector: Any = None, **extra: Any) -> dict[str, Any]:
    found = {"topologyKey": key, **extra}
    if selector is not None:
        found["labelSelector"] = selector
    return found


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}


def preferred(*weighted: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "podAffinityTerm": t} for w, t in weighted]}


APP_WEB = {"matchLabels": {"app": "web"}}
WEB = {"app": "web"}
NAMESPACES = Cluster({"default": {"kubernetes.io/metadata.name": "default"},
                      "team": {"kubernetes.io/metadata.name": "team", "tier": "prod"}})

# (case, incoming pod, {node: pods on it}, {node: reasons}: nodes left out fit)
CASES: list[tuple[str, dict[str, Any], dict[str, list[dict[str, Any]]], dict[str, str]]] = [
    ("no affinity fits anywhere", pod(), {"a": [pod("w", WEB)], "c": []}, {}),
    ("affinity to a zone with a matching pod",
     pod(podAffinity=required(term(ZONE, APP_WEB))),
     {"a": [pod("w", WEB)], "b": [], "c": [], "bare": []},
     {"c": ERR_AFFINITY_RULES, "bare": ERR_AFFINITY_RULES}),
    ("affinity by hostname: only the node itself",
     pod(podAffinity=required(term(HOST, APP_WEB))), {"a": [pod("w", WEB)], "b": []},
     {"b": ERR_AFFINITY_RULES}),
    ("NotIn selects the other pods",
     pod(podAffinity=required(term(HOST, {"matchExpressions": [
         {"key": "app", "operator": "NotIn", "values": ["web"]}]}))),
     {"a": [pod("w", WEB)], "b": [pod("d", {"app": "db"})]}, {"a": ERR_AFFINITY_RULES}),
    ("all terms must be met by one pod",
     pod(podAffinity=required(term(HOST, APP_WEB), term(HOST, {"matchLabels": {"v": "2"}}))),
     {"a": [pod("w", WEB), pod("v", {"v": "2"})], "b": [pod("both", {**WEB, "v": "2"})]},
     {"a": ERR_AFFINITY_RULES}),
    ("the first pod of a group may go where the keys are",
     pod(labels=WEB, podAffinity=required(term(ZONE, APP_WEB))),
     {"a": [], "c": [], "bare": []}, {"bare": ERR_AFFINITY_RULES}),
    ("no self-affinity when the pod does not match its own terms",
     pod(podAffinity=required(term(ZONE, APP_WEB))), {"a": [], "c": []},
     {"a": ERR_AFFINITY_RULES, "c": ERR_AFFINITY_RULES}),
    ("no self-affinity once a matching pod exists elsewhere",
     pod(labels=WEB, podAffinity=required(term(ZONE, APP_WEB))),
     {"a": [pod("w", WEB)], "c": []}, {"c": ERR_AFFINITY_RULES}),
    ("a missing selector matches nothing",
     pod(podAffinity=required(term(HOST))), {"a": [pod("w", WEB)]}, {"a": ERR_AFFINITY_RULES}),
    ("an empty selector matches every pod",
     pod(podAffinity=required(term(HOST, {}))), {"a": [pod("w", WEB)], "b": []},
     {"b": ERR_AFFINITY_RULES}),
    ("anti-affinity by hostname spreads",
     pod(podAntiAffinity=required(term(HOST, APP_WEB))), {"a": [pod("w", WEB)], "b": []},
     {"a": ERR_ANTI_AFFINITY_RULES}),
    ("anti-affinity by zone keeps the whole zone out",
     pod(podAntiAffinity=required(term(ZONE, APP_WEB))),
     {"a": [pod("w", WEB)], "b": [], "c": [], "bare": []},
     {"a": ERR_ANTI_AFFINITY_RULES, "b": ERR_ANTI_AFFINITY_RULES}),
    ("anti-affinity ignores pods of other namespaces",
     pod(podAntiAffinity=required(term(HOST, APP_WEB))),
     {"a": [pod("w", WEB, namespace="team")]}, {}),
    ("namespaces name them",
     pod(podAntiAffinity=required(term(HOST, APP_WEB, namespaces=["team"]))),
     {"a": [pod("w", WEB, namespace="team")], "b": [pod("x", WEB)]},
     {"a": ERR_ANTI_AFFINITY_RULES}),
    ("an empty namespaceSelector means every namespace",
     pod(podAntiAffinity=required(term(HOST, APP_WEB, namespaceSelector={}))),
     {"a": [pod("w", WEB, namespace="team")], "b": [pod("x", WEB)]},
     {"a": ERR_ANTI_AFFINITY_RULES, "b": ERR_ANTI_AFFINITY_RULES}),
    ("a namespaceSelector by the namespaces' labels",
     pod(podAntiAffinity=required(term(HOST, APP_WEB,
                                       namespaceSelector={"matchLabels": {"tier": "prod"}}))),
     {"a": [pod("w", WEB, namespace="team")], "b": [pod("x", WEB)]},
     {"a": ERR_ANTI_AFFINITY_RULES}),
    ("an existing pod's anti-affinity keeps the incoming pod off its node",
     pod(labels=WEB), {"a": [pod("lonely", podAntiAffinity=required(term(HOST, APP_WEB)))],
                       "b": []},
     {"a": ERR_EXISTING_ANTI_AFFINITY}),
    ("an existing pod's anti-affinity by zone keeps the zone",
     pod(labels=WEB), {"a": [pod("lonely", podAntiAffinity=required(term(ZONE, APP_WEB)))],
                       "b": [], "c": []},
     {"a": ERR_EXISTING_ANTI_AFFINITY, "b": ERR_EXISTING_ANTI_AFFINITY}),
    ("an existing pod's term with a namespaceSelector reads the incoming pod's namespace",
     pod(labels=WEB, namespace="team"),
     {"a": [pod("lonely", podAntiAffinity=required(term(
         HOST, APP_WEB, namespaceSelector={"matchLabels": {"tier": "prod"}})))], "b": []},
     {"a": ERR_EXISTING_ANTI_AFFINITY}),
    ("an existing pod's term is for its own namespace by default",
     pod(labels=WEB, namespace="team"),
     {"a": [pod("lonely", podAntiAffinity=required(term(HOST, APP_WEB)))]}, {}),
    ("affinity is checked before anti-affinity",
     pod(labels=WEB, podAffinity=required(term(HOST, {"matchLabels": {"app": "db"}})),
         podAntiAffinity=required(term(HOST, APP_WEB))),
     {"a": [pod("d", {"app": "db"}), pod("w", WEB)], "b": [pod("d2", {"app": "db"})],
      "c": []},
     {"a": ERR_ANTI_AFFINITY_RULES, "c": ERR_AFFINITY_RULES}),
]


@pytest.mark.parametrize(("incoming", "placed", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filter(incoming: dict[str, Any], placed: dict[str, list[dict[str, Any]]],
                expected: dict[str, str]) -> None:
    nodes = [NodeInfo(node(name), pods) for name, pods in placed.items()]
    decision = schedule(incoming, nodes, cluster=NAMESPACES)
    assert {n: r[0] for n, r in decision.rejected.items()} == expected


def test_the_failed_scheduling_message_counts_the_reason() -> None:
    nodes = [NodeInfo(node("a"), [pod("w", WEB)]), NodeInfo(node("b"), [pod("x", WEB)])]
    decision = schedule(pod(podAntiAffinity=required(term(HOST, APP_WEB))), nodes)
    assert decision.message == ("0/2 nodes are available: 2 node(s) didn't match pod "
                                "anti-affinity rules.")


SCORES: list[tuple[str, dict[str, Any], dict[str, list[dict[str, Any]]], dict[str, int]]] = [
    ("nothing to prefer scores 0", pod(), {"a": [pod("w", WEB)], "c": []}, {"a": 0, "c": 0}),
    ("preferred affinity by zone",
     pod(podAffinity=preferred((5, term(ZONE, APP_WEB)))),
     {"a": [pod("w", WEB)], "b": [], "c": []}, {"a": 100, "b": 100, "c": 0}),
    ("weights add up and scale between lowest and highest",
     pod(podAffinity=preferred((5, term(ZONE, APP_WEB)), (3, term(HOST, APP_WEB)))),
     {"a": [pod("w", WEB)], "b": [], "c": []}, {"a": 100, "b": 62, "c": 0}),
    ("preferred anti-affinity subtracts",
     pod(podAntiAffinity=preferred((10, term(HOST, APP_WEB)))),
     {"a": [pod("w", WEB)], "b": [pod("x", WEB), pod("y", WEB)], "c": []},
     {"a": 50, "b": 0, "c": 100}),
    ("an existing pod's required affinity attracts the pods it selects (weight 1)",
     pod(labels=WEB), {"a": [pod("needs", podAffinity=required(term(HOST, APP_WEB)))],
                       "b": []}, {"a": 100, "b": 0}),
    ("an existing pod's preferred anti-affinity repels them",
     pod(labels=WEB), {"a": [pod("shy", podAntiAffinity=preferred((7, term(ZONE, APP_WEB))))],
                       "c": []}, {"a": 0, "c": 100}),
]


@pytest.mark.parametrize(("incoming", "placed", "expected"),
                         [c[1:] for c in SCORES], ids=[c[0] for c in SCORES])
def test_score(incoming: dict[str, Any], placed: dict[str, list[dict[str, Any]]],
               expected: dict[str, int]) -> None:
    nodes = [NodeInfo(node(name), pods) for name, pods in placed.items()]
    assert score(incoming, nodes, nodes, NAMESPACES) == expected


def test_preferred_affinity_counts_twice_in_the_decision() -> None:
    """InterPodAffinity scores with upstream's default weight 2 beside the resource scores."""
    wanting = pod(podAffinity=preferred((50, term(HOST, APP_WEB))))
    busy = pod("w", WEB)
    busy["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
    nodes = [NodeInfo(node("a"), [busy]), NodeInfo(node("b"), [])]
    decision = schedule(wanting, nodes)
    assert decision.node == "a"
    plain = schedule(pod(), nodes)
    assert (decision.scores["a"] - decision.scores["b"]) - (
        plain.scores["a"] - plain.scores["b"]) == 2 * 100
