"""The node lifecycle controller's decisions about pods: MarkPodsNotReady and taint eviction,
against upstream's rules (controller_utils.go, node_lifecycle_controller.go processPod,
taint_eviction.go)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.controllers.nodelifecycle_plan import (
    FULL_DISRUPTION,
    NORMAL,
    PARTIAL_DISRUPTION,
    UNREACHABLE,
    desired_taints,
    eviction_time,
    no_execute_mode,
    zone_key,
    zone_states,
)
from nodelab.controlplane.controllers.nodelifecycle_pods_plan import (
    not_ready_conditions,
    plan_evictions,
    pod_key,
    pods_to_mark_not_ready,
)
from nodelab.kubewire.times import format_time

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
EARLIER = "2026-01-01T11:00:00Z"


def pod(name: str, node: str = "node2", ready: str | None = "True",
        tolerations: list[dict[str, Any]] | None = None, **metadata: Any) -> dict[str, Any]:
    conditions = [{"type": "ContainersReady", "status": "True",
                   "lastTransitionTime": EARLIER}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready, "lastTransitionTime": EARLIER,
                           "lastProbeTime": None})
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         **metadata},
            "spec": {"nodeName": node, "tolerations": tolerations or []},
            "status": {"phase": "Running", "conditions": conditions}}


def test_only_ready_goes_false_and_its_transition_time_is_now() -> None:
    conditions = not_ready_conditions(pod("web"), NOW)
    assert conditions == [
        {"type": "ContainersReady", "status": "True", "lastTransitionTime": EARLIER},
        {"type": "Ready", "status": "False", "lastTransitionTime": format_time(NOW),
         "lastProbeTime": None}]


def test_reason_and_message_of_the_ready_condition_are_kept() -> None:
    gated = pod("web")
    gated["status"]["conditions"][1].update(status="Unknown", reason="R", message="M")
    ready = next(c for c in not_ready_conditions(gated, NOW) or [] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "R", "M")


@pytest.mark.parametrize("ready", [None, "False"])
def test_a_pod_without_ready_or_already_not_ready_is_left_alone(ready: str | None) -> None:
    assert not_ready_conditions(pod("web", ready=ready), NOW) is None


@pytest.mark.parametrize("node_ready, went, placed, marked", [
    # the controller moved node2 from True to Unknown: every pod on node2
    ({"node1": "True", "node2": "Unknown"}, {"node2"}, "known", ["a", "b"]),
    # node2 Unknown for a while, nothing new: nobody (no fight with a kubelet coming back)
    ({"node1": "True", "node2": "Unknown"}, set(), "known", []),
    # a pod seen for the first time on a node that is not Ready (processPod)
    ({"node1": "True", "node2": "Unknown"}, set(), "new", ["a", "b"]),
    # the kubelet posted False itself: only pods new to the node
    ({"node1": "True", "node2": "False"}, set(), "new", ["a", "b"]),
    ({"node1": "True", "node2": "False"}, set(), "known", []),
    # a Ready node: nobody, new or not
    ({"node1": "True", "node2": "True"}, set(), "new", []),
    # a node without a Ready condition (never posted): nobody
    ({"node1": "True"}, {"node2"}, "new", []),
])
def test_which_pods_are_marked_not_ready(node_ready: dict[str, str], went: set[str],
                                         placed: str, marked: list[str]) -> None:
    pods = [pod("a"), pod("b"), pod("c", node="node1"), pod("d", node="")]
    seen = {p["metadata"]["uid"]: p["spec"]["nodeName"] for p in pods} if placed == "known" \
        else {}
    chosen = pods_to_mark_not_ready(pods, node_ready, went, seen)
    assert [p["metadata"]["name"] for p in chosen] == marked


def test_a_pod_moved_to_another_node_counts_as_new() -> None:
    moved = pod("a", node="node2")
    assert pods_to_mark_not_ready([moved], {"node2": "Unknown"}, set(),
                                  {"uid-a": "node1"}) == [moved]


UNREACHABLE_NO_EXECUTE = {"key": UNREACHABLE, "effect": "NoExecute",
                          "timeAdded": format_time(NOW - dt.timedelta(seconds=100))}
DEFAULT_TOLERATION = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                      "tolerationSeconds": 300}


def test_the_first_matching_toleration_decides_as_upstream() -> None:
    first_forever = [{"operator": "Exists"}, DEFAULT_TOLERATION]
    first_timed = [DEFAULT_TOLERATION, {"operator": "Exists"}]
    assert eviction_time({"spec": {"tolerations": first_forever}},
                         [UNREACHABLE_NO_EXECUTE]) is None
    assert eviction_time({"spec": {"tolerations": first_timed}}, [UNREACHABLE_NO_EXECUTE]) \
        == NOW + dt.timedelta(seconds=200)
    zero = {**DEFAULT_TOLERATION, "tolerationSeconds": -5}
    assert eviction_time({"spec": {"tolerations": [zero]}}, [UNREACHABLE_NO_EXECUTE]) \
        == NOW - dt.timedelta(seconds=100)


def test_untolerated_pods_go_now_tolerating_ones_wait() -> None:
    waiting = pod("waits", tolerations=[DEFAULT_TOLERATION])
    plain = pod("plain")
    forever = pod("forever", tolerations=[{"operator": "Exists"}])
    elsewhere = pod("elsewhere", node="node1")
    plan = plan_evictions([waiting, plain, forever, elsewhere],
                          {"node2": [UNREACHABLE_NO_EXECUTE], "node1": []}, NOW, frozenset())
    assert [p["metadata"]["name"] for p in plan.evict] == ["plain"]
    assert plan.pending == {"default/waits"} and plan.cancel == ()


def test_a_pending_eviction_is_due_once_its_seconds_have_passed() -> None:
    waiting = pod("waits", tolerations=[DEFAULT_TOLERATION])
    later = NOW + dt.timedelta(seconds=201)
    plan = plan_evictions([waiting], {"node2": [UNREACHABLE_NO_EXECUTE]}, later,
                          frozenset({"default/waits"}))
    assert plan.evict == (waiting,) and plan.pending == frozenset() and plan.cancel == ()


def test_a_taint_removed_in_time_cancels_the_pending_eviction() -> None:
    waiting = pod("waits", tolerations=[DEFAULT_TOLERATION])
    plan = plan_evictions([waiting], {"node2": []}, NOW, frozenset({"default/waits"}))
    assert plan.cancel == (waiting,) and plan.evict == () and plan.pending == frozenset()


def test_a_pod_gone_or_being_deleted_is_neither_evicted_nor_cancelled() -> None:
    deleting = pod("deleting", tolerations=[DEFAULT_TOLERATION],
                   deletionTimestamp=format_time(NOW))
    plan = plan_evictions([deleting], {"node2": []}, NOW,
                          frozenset({"default/deleting", "default/gone"}))
    assert plan.cancel == () and plan.evict == ()
    assert plan.pending == {pod_key(deleting)}


def node(name: str, ready: str, zone: str = "", **spec: Any) -> dict[str, Any]:
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    return {"metadata": {"name": name, "labels": labels}, "spec": dict(spec),
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


@pytest.mark.parametrize("readiness, states", [
    (["True", "True"], {"": NORMAL}),
    (["True", "Unknown"], {"": NORMAL}),
    (["Unknown"], {"": FULL_DISRUPTION}),
    (["False", "Unknown"], {"": FULL_DISRUPTION}),
    (["True", "Unknown", "Unknown", "False"], {"": PARTIAL_DISRUPTION}),  # 3 (> 2), 75 %
    (["True", "True", "Unknown", "Unknown", "False"], {"": PARTIAL_DISRUPTION}),  # 60 %
    (["True", "True", "True", "Unknown", "Unknown", "False"], {"": NORMAL}),  # 50 % < 55 %
])
def test_zone_states_as_compute_zone_state(readiness: list[str], states: dict[str, str]) -> None:
    nodes = [node(f"n{i}", r) for i, r in enumerate(readiness)]
    assert zone_states(nodes) == states


def test_zones_are_counted_apart() -> None:
    nodes = [node("a", "Unknown", "z1"), node("b", "True", "z2")]
    assert zone_states(nodes) == {zone_key(nodes[0]): FULL_DISRUPTION,
                                  zone_key(nodes[1]): NORMAL}
    assert zone_key(nodes[0]) == ":\x00:z1" and zone_key(node("c", "True")) == ""


def keys(taints: list[dict[str, Any]]) -> set[str]:
    return {f"{t['key'].rsplit('/', 1)[-1]}:{t['effect']}" for t in taints}


@pytest.mark.parametrize("ready, mode, before, after", [
    ("Unknown", "apply", [], {"unreachable:NoSchedule", "unreachable:NoExecute"}),
    ("False", "apply", [], {"not-ready:NoSchedule", "not-ready:NoExecute"}),
    ("True", "apply", ["unreachable:NoSchedule", "unreachable:NoExecute"], set()),
    # every node down: no NoExecute taint, the NoSchedule one still
    ("Unknown", "remove", ["unreachable:NoExecute"], {"unreachable:NoSchedule"}),
    # a partially disrupted zone adds no NoExecute taint, keeps and swaps the ones there
    ("Unknown", "hold", [], {"unreachable:NoSchedule"}),
    ("Unknown", "hold", ["not-ready:NoExecute"], {"unreachable:NoSchedule",
                                                  "unreachable:NoExecute"}),
])
def test_the_lifecycle_taints_follow_ready_and_the_disruption_mode(
        ready: str, mode: str, before: list[str], after: set[str]) -> None:
    taints = [{"key": f"node.kubernetes.io/{k.split(':')[0]}", "effect": k.split(":")[1]}
              for k in before]
    wanted = desired_taints(node("n", ready, taints=taints + [{"key": "mine",
                                                               "effect": "NoSchedule"}]),
                            NOW, mode)
    assert keys(wanted) == after | {"mine:NoSchedule"}
    assert all(t.get("timeAdded") == format_time(NOW) for t in wanted
               if t not in taints and t["key"] != "mine")


def test_conditions_and_cordoning_bring_their_no_schedule_taints() -> None:
    pressed = node("n", "True", unschedulable=True)
    pressed["status"]["conditions"] += [{"type": "MemoryPressure", "status": "True"},
                                        {"type": "DiskPressure", "status": "False"},
                                        {"type": "PIDPressure", "status": "True"},
                                        {"type": "NetworkUnavailable", "status": "True"}]
    assert keys(desired_taints(pressed, NOW)) == {
        "memory-pressure:NoSchedule", "pid-pressure:NoSchedule",
        "network-unavailable:NoSchedule", "unschedulable:NoSchedule"}
    healthy = node("n", "True", taints=[{"key": "node.kubernetes.io/memory-pressure",
                                         "effect": "NoSchedule"}])
    assert desired_taints(healthy, NOW) == []


@pytest.mark.parametrize("state, everywhere, mode", [
    (NORMAL, False, "apply"), (PARTIAL_DISRUPTION, False, "hold"),
    (FULL_DISRUPTION, False, "apply"), (FULL_DISRUPTION, True, "remove"),
])
def test_no_execute_mode(state: str, everywhere: bool, mode: str) -> None:
    assert no_execute_mode(state, everywhere) == mode
