"""How the node problem detector reports without flooding the API server: client-go's event
correlator (spam filter 25 then 1 per 5 min, similar events combined from the 10th, equal
events counted), the condition manager (a patch per change, a retry after 10 s, a heartbeat
every 5 min), the Event and the status patch as upstream sends them, and the objects of the
DaemonSet (upstream's manifest and RBAC)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.addons.npd.conditions import ConditionManager
from nodelab.addons.npd.exporter import node_event
from nodelab.addons.npd.monitor import Condition, Event
from nodelab.controlplane.auth.bootstrap_policy import CLUSTER_ROLES
from nodelab.kubewire.correlator import EventCorrelator
from nodelab.lab.addons.node_problem_detector import npd_objects, running_everywhere

pytestmark = pytest.mark.unit


def oom(pid: int) -> Event:
    return Event("Warning", "OOMKilling", f"Killed process {pid} (sh) total-vm:1kB, "
                 "anon-rss:1kB, file-rss:1kB", 0.0)


def send(correlator: EventCorrelator, event: Event, now: float) -> tuple[str, dict[str, Any]]:
    obj = node_event("node1", "uid-1", "kernel-monitor", event, now)
    decision = correlator.correlate(obj, now, f"t{now}")
    return decision.action, decision.event


def test_node_event_is_client_gos() -> None:
    obj = node_event("node1", "uid-1", "kernel-monitor", oom(5), 1_700_000_000.5)
    assert obj["metadata"] == {"name": "node1.17979cfe53f76500", "namespace": "default"}
    assert obj["involvedObject"] == {"kind": "Node", "name": "node1", "uid": "uid-1",
                                     "apiVersion": "v1"}
    assert obj["source"] == {"component": "kernel-monitor", "host": "node1"}
    assert (obj["type"], obj["reason"], obj["count"]) == ("Warning", "OOMKilling", 1)
    assert obj["firstTimestamp"] == obj["lastTimestamp"] == "2023-11-14T22:13:20Z"


def test_equal_events_are_counted_not_created() -> None:
    correlator = EventCorrelator()
    assert send(correlator, oom(1), 0.0)[0] == "create"
    action, event = send(correlator, oom(1), 1.0)
    assert (action, event["count"], event["lastTimestamp"]) == ("patch", 2, "1970-01-01T00:00:01Z")
    assert send(correlator, oom(1), 2.0)[1]["count"] == 3


def test_similar_events_are_combined_from_the_tenth() -> None:
    correlator = EventCorrelator()
    actions = [send(correlator, oom(pid), float(pid)) for pid in range(1, 13)]
    assert [a for a, _ in actions[:9]] == ["create"] * 9
    action, event = actions[9]
    assert action == "create"
    assert event["message"].startswith("(combined from similar events): Killed process 10 ")
    assert [(a, e["count"]) for a, e in actions[10:]] == [("patch", 2), ("patch", 3)]
    assert actions[11][1]["message"].endswith("Killed process 12 (sh) total-vm:1kB, "
                                              "anon-rss:1kB, file-rss:1kB")
    # ten minutes of quiet: similar events are counted afresh
    assert send(correlator, oom(99), 12.0 + 601.0)[1]["message"].startswith("Killed process")


def test_spam_filter_lets_25_through_then_one_per_5_minutes() -> None:
    correlator = EventCorrelator()
    kinds = [Event("Warning", f"Reason{i}", "m", 0.0) for i in range(30)]
    actions = [send(correlator, kinds[i], 0.0)[0] for i in range(30)]
    assert actions == ["create"] * 25 + ["skip"] * 5
    assert send(correlator, Event("Warning", "Late", "m", 0.0), 299.0)[0] == "skip"
    assert send(correlator, Event("Warning", "Later", "m", 0.0), 301.0)[0] == "create"


def condition(kind: str, status: str = "False", reason: str = "KernelHasNoDeadlock"
              ) -> Condition:
    return Condition(kind, status, 1_700_000_000.0, reason, "kernel has no deadlock")


def test_condition_manager_patches_on_change_retry_and_heartbeat() -> None:
    manager = ConditionManager(heartbeat_period=300.0)
    assert not manager.due(0.0)  # nothing reported yet
    manager.update(condition("KernelDeadlock"))
    assert manager.due(0.0)
    patch = manager.patch(0.0, 1_700_000_001.0)
    assert patch == {"status": {"conditions": [{
        "type": "KernelDeadlock", "status": "False", "lastHeartbeatTime": "2023-11-14T22:13:21Z",
        "lastTransitionTime": "2023-11-14T22:13:20Z", "reason": "KernelHasNoDeadlock",
        "message": "kernel has no deadlock"}]}}
    manager.update(condition("KernelDeadlock"))  # the same again: nothing to send
    assert not manager.due(1.0)
    manager.update(condition("KernelDeadlock", "True", "DockerHung"))
    assert manager.due(2.0)
    manager.patch(2.0, 0.0)
    manager.failed()
    assert not manager.due(11.0)
    assert manager.due(12.0)  # retried 10 s after the failed patch
    manager.patch(12.0, 0.0)
    assert not manager.due(311.0)
    assert manager.due(312.0)  # the heartbeat


def test_objects_are_upstreams_manifest() -> None:
    objects = dict((o["kind"], o) for _, o in npd_objects("reg:5000/nodelab/addons@sha256:x",
                                                           "nodelab/nla"))
    assert objects["ClusterRoleBinding"]["roleRef"]["name"] == "system:node-problem-detector"
    assert objects["ClusterRoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "node-problem-detector", "namespace": "kube-system"}]
    spec = objects["DaemonSet"]["spec"]["template"]["spec"]
    [container] = spec["containers"]
    assert container["securityContext"] == {"privileged": True}
    assert container["args"][1:] == [
        "--logtostderr",
        "--config.system-log-monitor=/config/kernel-monitor.json,/config/readonly-monitor.json",
        "--node-cgroup=/nodelab/nla/$(NODE_NAME)"]
    assert {"name": "kmsg", "mountPath": "/dev/kmsg", "readOnly": True} in \
        container["volumeMounts"]
    assert {"name": "kmsg", "hostPath": {"path": "/dev/kmsg"}} in spec["volumes"]
    assert spec["tolerations"] == [{"effect": "NoSchedule", "operator": "Exists"},
                                   {"effect": "NoExecute", "operator": "Exists"}]
    assert set(objects["ConfigMap"]["data"]) == {"kernel-monitor.json", "readonly-monitor.json"}


def test_bootstrap_role_is_upstreams() -> None:
    role = next(r for r in CLUSTER_ROLES if r["metadata"]["name"] == "system:node-problem-detector")
    assert role["rules"] == [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["nodes"]},
        {"verbs": ["patch"], "apiGroups": [""], "resources": ["nodes/status"]},
        {"verbs": ["create", "patch", "update"], "apiGroups": ["", "events.k8s.io"],
         "resources": ["events"]}]


@pytest.mark.parametrize(("status", "running"), [
    ({}, False), ({"desiredNumberScheduled": 2, "numberReady": 1}, False),
    ({"desiredNumberScheduled": 2, "numberReady": 2}, True)])
def test_running_everywhere(status: dict[str, int], running: bool) -> None:
    assert running_everywhere({"status": status}) is running
