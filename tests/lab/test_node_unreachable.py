"""A node whose kubelet stops, on a two-node lab, as on a real cluster: past the node monitor
grace period the node lifecycle controller turns its Ready Unknown, taints it unreachable and
sets its pods' Ready condition False (upstream's MarkPodsNotReady), so the EndpointSlice
controller marks their endpoints not ready and kube-proxy on the other node stops sending
traffic there. The pods stay (DefaultTolerationSeconds gave them 300 s); when the kubelet
comes back, it posts their readiness again and everything returns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.faults.invariants import rule_endpoints
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]
UNREACHABLE = "node.kubernetes.io/unreachable"
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node2}
      containers: [{name: web, image: %s}]
"""


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Lab]:
    name = unique_lab_name()
    try:
        yield Lab.up(name, 2, progress=lambda _m: None, node_monitor_grace_period=20)
    finally:
        take_down_lab(name)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == kind), {})


def endpoint_ready(lab: Lab, ip: str) -> bool | None:
    slices = kubectl_json(lab, "get", "endpointslices", "-l",
                          "kubernetes.io/service-name=web")["items"]
    for item in slices:
        for endpoint in item.get("endpoints") or []:
            if ip in endpoint["addresses"]:
                return bool(endpoint["conditions"].get("ready"))
    return None


def pod_events(lab: Lab, name: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = kubectl_json(lab, "get", "events", "--field-selector",
                                                f"involvedObject.name={name}")["items"]
    return events


def test_a_stopped_kubelet_makes_its_pods_not_ready_until_it_returns(two_nodes: Lab) -> None:
    lab = two_nodes
    kubectl(lab, "apply", "-f", "-", input=DEPLOYMENT % lab.images.ref("web"))
    kubectl(lab, "expose", "deployment", "web", "--port=80", "--target-port=8080")

    def the_pod() -> dict[str, Any] | None:
        pods: list[dict[str, Any]] = kubectl_json(lab, "get", "pods", "-l", "app=web")["items"]
        ready = [p for p in pods if condition(p, "Ready").get("status") == "True"]
        return ready[0] if len(ready) == 1 and len(pods) == 1 else None

    pod = eventually(the_pod, timeout=90)
    name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
    assert {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in pod["spec"]["tolerations"]  # DefaultTolerationSeconds
    eventually(lambda: f"{ip}:8080" in rule_endpoints(lab, "node1"), timeout=30)

    lab.stop_daemon("kubelet", node="node2")
    # the controller writes the Ready condition, then the taints: both are waited for
    eventually(lambda: (n := kubectl_json(lab, "get", "node", "node2"))
               and condition(n, "Ready")["status"] == "Unknown"
               and UNREACHABLE in {t["key"] for t in n["spec"].get("taints") or []}, timeout=90)
    after = eventually(lambda: (p := kubectl_json(lab, "get", "pod", name))
                       and condition(p, "Ready")["status"] == "False" and p, timeout=20)
    assert condition(after, "ContainersReady")["status"] == "True"  # only Ready is touched
    assert after["status"]["phase"] == "Running"
    # recorded just after the pod was marked not ready (MarkPodsNotReady)
    eventually(lambda: any((e["reason"], e["message"]) == ("NodeNotReady", "Node is not ready")
                           for e in pod_events(lab, name)), timeout=20)
    eventually(lambda: endpoint_ready(lab, ip) is False, timeout=20)
    eventually(lambda: f"{ip}:8080" not in rule_endpoints(lab, "node1"), timeout=30)
    assert not kubectl_json(lab, "get", "pod", name)["metadata"].get("deletionTimestamp")

    lab.start_daemon("kubelet", node="node2")
    eventually(lambda: condition(kubectl_json(lab, "get", "node", "node2"), "Ready")["status"]
               == "True", timeout=60)
    eventually(lambda: condition(kubectl_json(lab, "get", "pod", name), "Ready")["status"]
               == "True", timeout=60)
    eventually(lambda: endpoint_ready(lab, ip) is True, timeout=20)
    eventually(lambda: f"{ip}:8080" in rule_endpoints(lab, "node1"), timeout=30)
    # the taint manager's, on the pass after the node's taints are gone: not ordered with
    # the pod's readiness (the kubelet's) that the waits above read
    eventually(lambda: any(e["message"] == f"Cancelling deletion of Pod default/{name}"
                           for e in pod_events(lab, name)), timeout=30)
    current = kubectl_json(lab, "get", "pod", name)
    assert current["status"]["podIP"] == ip  # the same pod, not a replacement
