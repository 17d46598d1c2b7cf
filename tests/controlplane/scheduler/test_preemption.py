"""Preemption as data (scheduler/preemption.py), upstream's DefaultPreemption rules:
candidate nodes, the fewest victims (reprieve the most important), the node choice."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.scheduler.cluster import Cluster
from nodelab.controlplane.scheduler.filters import NodeInfo
from nodelab.controlplane.scheduler.plan import schedule
from nodelab.controlplane.scheduler.preemption import (
    budget_violations,
    preempt,
    resolvable,
    victims_on,
)
from tests.controlplane.scheduler.test_plan import node

pytestmark = pytest.mark.unit


def pod(name: str, cpu: str, priority: int = 0, started: str = "2026-01-01T00:00:00Z",
        **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}
    return {"metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": {"containers": [container], "priority": priority, **spec},
            "status": {"startTime": started}}


def names(pods: Any) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def attempt(incoming: dict[str, Any], infos: list[NodeInfo],
            cluster: Cluster | None = None) -> Any:
    decision = schedule(incoming, infos)
    assert decision.node is None
    return preempt(incoming, infos, dict(decision.rejected), cluster)


def test_only_what_pods_hold_can_be_preempted_away() -> None:
    assert resolvable(["Insufficient cpu", "Too many pods"])
    assert not resolvable(["Insufficient cpu", "node(s) didn't match Pod's node affinity/selector"])
    assert not resolvable([])


def test_the_fewest_victims_and_the_most_important_kept() -> None:
    info = NodeInfo(node("n1", cpu="2"), [
        pod("low-a", "500m", 1), pod("low-b", "500m", 1, "2026-01-01T00:00:05Z"),
        pod("mid", "1", 5)])
    # all three go, then `mid` (the most important) is put back first and fits: it is kept
    victims = victims_on(pod("high", "1", 10), info)
    assert names(victims or ()) == ["low-a", "low-b"]
    assert victims_on(pod("equal", "1", 1), info) is None  # no lower-priority pods enough
    assert victims_on(pod("huge", "3", 10), info) is None  # does not fit even on an empty node


def test_the_node_with_the_least_important_victims() -> None:
    n1 = NodeInfo(node("n1", cpu="1"), [pod("v5", "1", 5)])
    n2 = NodeInfo(node("n2", cpu="1"), [pod("v3", "1", 3)])
    n3 = NodeInfo(node("n3", cpu="1", taints=[{"key": "k", "effect": "NoSchedule"}]),
                  [pod("v1", "1", 1)])
    chosen = attempt(pod("high", "1", 10), [n1, n2, n3])
    assert (chosen.node, names(chosen.victims)) == ("n2", ["v3"])  # n3: a taint, not pods


def test_ties_go_to_fewer_victims_then_the_latest_started() -> None:
    two = NodeInfo(node("a", cpu="1"), [pod("x", "500m", 3), pod("y", "500m", 3)])
    one = NodeInfo(node("b", cpu="1"), [pod("z", "1", 3)])
    assert attempt(pod("high", "1", 10), [two, one]).node == "b"  # same top, lower sum
    old = NodeInfo(node("c", cpu="1"), [pod("o", "1", 3, "2026-01-01T00:00:00Z")])
    new = NodeInfo(node("d", cpu="1"), [pod("n", "1", 3, "2026-01-01T09:00:00Z")])
    assert attempt(pod("high", "1", 10), [old, new]).node == "d"


def test_never_and_a_nomination_still_in_progress() -> None:
    info = NodeInfo(node("n1", cpu="1"), [pod("low", "1", 1)])
    assert attempt(pod("polite", "1", 10, preemptionPolicy="Never"), [info]) is None
    going = pod("going", "1", 1)
    going["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:09Z"
    waiting = pod("high", "1", 10)
    waiting["status"]["nominatedNodeName"] = "n1"
    assert attempt(waiting, [NodeInfo(node("n1", cpu="1"), [going])]) is None


def test_a_victims_anti_affinity_is_preempted_away_and_a_pod_affinity_is_not() -> None:
    """Preemption runs every filter again with the victims gone, the cross-node ones too:
    a lower-priority pod whose required anti-affinity keeps the pod out goes; a node that
    lacks what the pod's own required affinity wants is no candidate."""
    lonely = pod("lonely", "100m", 1, affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "topologyKey": "kubernetes.io/hostname", "labelSelector": {}}]}})
    infos = [NodeInfo(node("n1"), [lonely])]
    chosen = attempt(pod("high", "100m", 10), infos)
    assert (chosen.node, names(chosen.victims)) == ("n1", ["lonely"])
    together = pod("with-db", "100m", 10, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{
            "topologyKey": "kubernetes.io/hostname",
            "labelSelector": {"matchLabels": {"app": "db"}}}]}})
    filler = pod("filler", "2", 1)  # removing it would free the cpu, but no db pod is near
    assert attempt(together, [NodeInfo(node("n1"), [filler])]) is None


def test_the_postfilter_message_says_why_nothing_was_preempted() -> None:
    """Upstream's DefaultPreemption message, which follows the filters' reasons in the
    FailedScheduling text (`... rules. preemption: 0/2 nodes are available: ...`)."""
    from nodelab.controlplane.scheduler.preemption import attempt as try_preempting

    def tried(incoming: dict[str, Any], infos: list[NodeInfo]) -> str:
        decision = schedule(incoming, infos)
        return try_preempting(incoming, infos, dict(decision.rejected)).message

    equal = [NodeInfo(node("n1", cpu="1"), [pod("same", "1", 5)])]
    assert tried(pod("p", "1", 5), equal) == (
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
    tainted = NodeInfo(node("t", taints=[{"key": "k", "effect": "NoSchedule"}]))
    too_big = NodeInfo(node("small", cpu="1"), [pod("low", "500m", 1)])
    assert tried(pod("p", "2", 5), [tainted, too_big]) == (
        "preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 Preemption is not helpful "
        "for scheduling.")
    assert tried(pod("p", "1", 5, preemptionPolicy="Never"), equal) == (
        "preemption: not eligible due to preemptionPolicy=Never.")
    assert tried(pod("p", "1", 9), equal) == ""  # a preemption was found
    assert tried(pod("p", "1", 9), []) == ""  # no nodes: no preemption runs




def test_a_lower_priority_pod_leaves_room_for_a_nominated_one() -> None:
    from nodelab.controlplane.scheduler.preemption import nominated_pods, nominations_to_clear

    high = pod("high", "1", 10)
    high["status"]["nominatedNodeName"] = "n1"
    equal = pod("equal", "1", 10)
    low = pod("low", "1", 1)
    low["status"]["nominatedNodeName"] = "n1"
    waiting = [high, equal, low]
    assert names(nominated_pods(pod("small", "1", 5), "n1", waiting)) == ["high"]
    assert names(nominated_pods(equal, "n1", waiting)) == ["high"]  # equal priority counts
    assert nominated_pods(high, "n1", waiting) == []  # not itself
    assert nominated_pods(pod("small", "1", 5), "n2", waiting) == []
    # on a 1-cpu node the nominated pod's room is taken: the small one does not fit
    info = NodeInfo(node("n1", cpu="1"), nominated_pods(pod("small", "1", 5), "n1", waiting))
    assert schedule(pod("small", "1", 5), [info]).node is None
    assert names(nominations_to_clear(pod("higher", "1", 20), "n1", waiting)) == ["high", "low"]
    assert names(nominations_to_clear(equal, "n1", waiting)) == ["low"]


# --- PodDisruptionBudgets (upstream's filterPodsWithPDBViolation and its test cases) -------


def foo(name: str, cpu: str, priority: int = 1, started: str = "2026-01-01T00:00:00Z"
        ) -> dict[str, Any]:
    labelled = pod(name, cpu, priority, started)
    labelled["metadata"]["labels"] = {"app": "foo"}
    return labelled


def budget(allowed: int, disrupted: tuple[str, ...] = (), selector: Any = None,
           namespace: str = "default") -> dict[str, Any]:
    status: dict[str, Any] = {"disruptionsAllowed": allowed}
    if disrupted:
        status["disruptedPods"] = {name: "2026-01-01T00:00:00Z" for name in disrupted}
    return {"metadata": {"name": "pdb", "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "foo"}} if selector is None
                     else selector}, "status": status}


@pytest.mark.parametrize(("budgets", "violating"), [
    ([], []),
    ([budget(2)], []),
    ([budget(1)], ["p2"]),  # the second pod the budget selects runs it out
    ([budget(0)], ["p1", "p2"]),
    ([budget(1, disrupted=("p1",))], []),  # p1 already counted by the eviction API
    ([budget(0, disrupted=("p1",))], ["p2"]),
    ([budget(0, selector={})], []),  # the scheduler reads `{}` as selecting nothing
    ([budget(0, namespace="other")], []),
])
def test_budget_violations(budgets: list[dict[str, Any]], violating: list[str]) -> None:
    pods = [foo("p1", "1"), foo("p2", "1"), pod("bare", "1")]
    broken, fine = budget_violations(pods, budgets)
    assert names(broken) == violating
    assert names(fine) == [n for n in ("p1", "p2", "bare") if n not in violating]


@pytest.mark.parametrize(("budgets", "violations"), [
    ([budget(2)], 0), ([budget(1)], 1), ([budget(0)], 2), ([budget(1, disrupted=("p1",))], 0)])
def test_victims_count_their_violations(budgets: list[dict[str, Any]], violations: int) -> None:
    info = NodeInfo(node("n1", cpu="2"), [foo("p1", "1"), foo("p2", "1")])
    chosen = attempt(pod("high", "2", 10), [info], Cluster(disruption_budgets=budgets))
    assert (sorted(names(chosen.victims)), chosen.violations) == (["p1", "p2"], violations)


def test_a_victim_that_would_break_a_budget_is_reprieved_first() -> None:
    info = NodeInfo(node("n1", cpu="2"), [pod("important", "1", 5), foo("guarded", "1", 1)])
    incoming = pod("high", "1", 10)
    assert names(attempt(incoming, [info]).victims) == ["guarded"]  # the less important
    chosen = attempt(incoming, [info], Cluster(disruption_budgets=[budget(0)]))
    assert (names(chosen.victims), chosen.violations) == (["important"], 0)


def test_the_node_with_fewer_budget_violations_wins() -> None:
    guarded = NodeInfo(node("n1", cpu="1"), [foo("v1", "1", 1)])
    costly = NodeInfo(node("n2", cpu="1"), [pod("v5", "1", 5)])
    incoming = pod("high", "1", 10)
    assert attempt(incoming, [guarded, costly]).node == "n1"  # the least important victim
    chosen = attempt(incoming, [guarded, costly], Cluster(disruption_budgets=[budget(0)]))
    assert (chosen.node, names(chosen.victims)) == ("n2", ["v5"])
    # when every node breaks a budget, the usual order decides, and the victim still goes
    both = attempt(incoming, [guarded, NodeInfo(node("n2", cpu="1"), [foo("v5", "1", 5)])],
                   Cluster(disruption_budgets=[budget(0)]))
    assert (both.node, both.violations) == ("n1", 1)
