"""The kubelet's admission by predicates against upstream's reasons and messages
(pkg/kubelet/lifecycle/predicate.go, the scheduler's AdmissionCheck)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.admission import Rejection, admit, admitted_peers

pytestmark = pytest.mark.unit

NODE: dict[str, Any] = {
    "metadata": {"name": "node1", "labels": {"kubernetes.io/os": "linux",
                                             "kubernetes.io/hostname": "node1", "disk": "ssd"}},
    "spec": {"taints": [{"key": "maintenance", "effect": "NoSchedule"}]},
    "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "3",
                               "example.com/dongle": "1"}},
}


def pod(name: str = "p", cpu: str | None = None, memory: str | None = None,
        **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    extra = spec.pop("requests", {})
    labels = spec.pop("labels", {})
    container: dict[str, Any] = {"name": "c", "image": "busybox",
                                 "resources": {"requests": {**requests, **extra}}}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    return {"metadata": {"name": name, "uid": f"uid-{name}", "labels": labels},
            "spec": {"nodeName": "node1", "containers": [container], **spec},
            "status": {"phase": "Pending"}}


def out_of(resource: str, requested: int, used: int, capacity: int) -> Rejection:
    return Rejection(f"OutOf{resource}", f"Node didn't have enough resource: {resource}, "
                     f"requested: {requested}, used: {used}, capacity: {capacity}")


def predicate(name: str, error: str) -> Rejection:
    return Rejection(name, f"Predicate {name} failed: {error}")


HOST_PORT = [{"containerPort": 80, "hostPort": 8080}]


@pytest.mark.parametrize("candidate, others, verdict", [
    (pod(), [], None),
    (pod(cpu="1500m"), [pod("a", cpu="500m")], None),
    (pod(cpu="3"), [], out_of("cpu", 3000, 0, 2000)),
    (pod(cpu="1"), [pod("a", cpu="1500m")], out_of("cpu", 1000, 1500, 2000)),
    (pod(memory="512Mi"), [pod("a", memory="768Mi")],
     out_of("memory", 536870912, 805306368, 1073741824)),
    # the pod count comes first, and the first failure is the one reported
    (pod(cpu="3"), [pod("a"), pod("b"), pod("c")], out_of("pods", 1, 3, 3)),
    (pod(requests={"example.com/dongle": "2"}), [], out_of("example.com/dongle", 2, 0, 1)),
    # an extended resource the node does not have at all is a cluster-level one: left out
    (pod(requests={"example.com/gadget": "5"}), [], None),
    (pod(nodeSelector={"disk": "hdd"}), [],
     predicate("NodeAffinity", "node(s) didn't match Pod's node affinity/selector")),
    (pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}), [], None),
    (pod(nodeName="node2"), [],
     predicate("NodeName", "node(s) didn't match the requested node name")),
    (pod(ports=HOST_PORT), [pod("a", ports=HOST_PORT)],
     predicate("NodePorts", "node(s) didn't have free ports for the requested pod ports")),
    # NoSchedule taints are the scheduler's business; the kubelet checks NoExecute only
    (pod(), [], None),
    (pod(labels={"kubernetes.io/os": "windows"}), [],
     Rejection("PodOSSelectorNodeLabelDoesNotMatch", "Failed to admit pod as the "
               "`kubernetes.io/os` label doesn't match node label")),
    (pod(os={"name": "windows"}), [],
     Rejection("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node "
               "OS")),
])
def test_admission_says_what_upstream_says(candidate: dict[str, Any],
                                           others: list[dict[str, Any]],
                                           verdict: Rejection | None) -> None:
    assert admit(candidate, NODE, others) == verdict


def test_strict_supplemental_groups_need_the_nodes_feature() -> None:
    strict = pod(securityContext={"supplementalGroupsPolicy": "Strict"})
    assert admit(strict, NODE, []) == Rejection(
        "SupplementalGroupsPolicyNotSupported",
        "SupplementalGroupsPolicy=Strict is not supported in this node")
    able = {**NODE, "status": {**NODE["status"],
                               "features": {"supplementalGroupsPolicy": True}}}
    assert admit(strict, able, []) is None
    assert admit(pod(securityContext={"supplementalGroupsPolicy": "Merge"}), NODE, []) is None


def test_a_no_execute_taint_not_tolerated_is_refused() -> None:
    tainted = {**NODE, "spec": {"taints": [{"key": "gone", "effect": "NoExecute"}]}}
    assert admit(pod(), tainted, []) == predicate(
        "TaintToleration", "node(s) had taints that the pod didn't tolerate")
    tolerant = pod(tolerations=[{"key": "gone", "operator": "Exists"}])
    assert admit(tolerant, tainted, []) is None


def created(name: str, stamp: str, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": stamp},
            "status": {"phase": phase}}


def test_the_peers_are_the_admitted_and_the_older_pods_still_running() -> None:
    me = created("me", "2026-01-01T00:00:05Z", "Pending")
    pods = [me, created("older", "2026-01-01T00:00:01Z"),
            created("newer", "2026-01-01T00:00:09Z"),
            created("newer-admitted", "2026-01-01T00:00:09Z"),
            created("older-done", "2026-01-01T00:00:01Z", "Succeeded"),
            created("older-failed", "2026-01-01T00:00:01Z", "Failed"),
            created("older-rejected", "2026-01-01T00:00:02Z", "Pending")]
    peers = admitted_peers(me, pods, {"uid-newer-admitted"}, {"uid-older-rejected"})
    assert [p["metadata"]["name"] for p in peers] == ["older", "newer-admitted"]
