"""Controllers against a real API server process, driven with real kubectl.

The controllers run in this test process (as they run in the controlplane process) as clients
of the API server. Where a test needs a kubelet's part (a Ready node with a fresh lease, pods
that become Ready), the test writes those statuses through the API itself, as a kubelet does.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nodelab.controlplane.controllers.loop import ControllerLoop
from nodelab.controlplane.controllers.setup import default_controllers
from nodelab.kube.rest import Rest
from tests.controlplane.apiserver import RunningApiServer, running_controllers

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def controllers(apiserver: RunningApiServer) -> Iterator[ControllerLoop]:
    with running_controllers(apiserver, default_controllers(dt.timedelta(seconds=3))) as loop:
        yield loop


@pytest.fixture(scope="module")
def rest(apiserver: RunningApiServer) -> Rest:
    return Rest(apiserver.client())


@pytest.fixture(scope="module")
def live_nodes(rest: Rest) -> Iterator[list[str]]:
    """node1 and node2, Ready, with leases renewed every half second (a kubelet's part)."""
    names = ["node1", "node2"]
    for name in names:
        make_ready_node(rest, name)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.5):
            for name in names:
                heartbeat(rest, name)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield names
    finally:
        stop.set()
        thread.join()


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check}")
        time.sleep(0.1)


def stamp(when: dt.datetime | None = None) -> str:
    return (when or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_ready_node(rest: Rest, name: str, cpu: str = "2") -> None:
    rest.create("nodes", None, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": name, "labels": {"kubernetes.io/hostname": name}}})
    heartbeat(rest, name, cpu)


def heartbeat(rest: Rest, name: str, cpu: str = "2") -> None:
    now = stamp()
    rest.patch("nodes", None, name, {"status": {
        "capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
        "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now, "lastTransitionTime": now}]}},
        subresource="status")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": name, "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                      "renewTime": dt.datetime.now(dt.timezone.utc).strftime(
                          "%Y-%m-%dT%H:%M:%S.%fZ")}}
    try:
        rest.create("leases", "kube-node-lease", lease)
    except Exception:
        rest.patch("leases", "kube-node-lease", name, {"spec": lease["spec"]})


def set_pod_ready(rest: Rest, namespace: str, name: str, ip: str, ready: bool) -> None:
    rest.patch("pods", namespace, name, {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}},
        subresource="status")


def test_nodes_get_pod_ranges_and_pods_are_scheduled(
    apiserver: RunningApiServer, controllers: ControllerLoop, live_nodes: list[str]
) -> None:
    cidrs = eventually(lambda: {
        n["metadata"]["name"]: n["spec"].get("podCIDR")
        for n in apiserver.kubectl_json("get", "nodes")["items"]
        if n["spec"].get("podCIDR")} if len([
            n for n in apiserver.kubectl_json("get", "nodes")["items"]
            if n["spec"].get("podCIDR")]) == 2 else None)
    assert sorted(cidrs.values()) == ["10.244.0.0/24", "10.244.1.0/24"]
    apiserver.kubectl("run", "sched1", "--image=busybox")
    pod = eventually(lambda: (p := apiserver.kubectl_json("get", "pod", "sched1"))["spec"].get(
        "nodeName") and p)
    assert pod["spec"]["nodeName"] in ("node1", "node2")
    # the scheduler records the event just after the binding
    eventually(lambda: "Successfully assigned default/sched1" in (events := apiserver.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=sched1").stdout)
        and "Scheduled" in events)


def test_a_pod_that_fits_nowhere_says_why(
    apiserver: RunningApiServer, controllers: ControllerLoop, live_nodes: list[str]
) -> None:
    apiserver.kubectl("run", "huge", "--image=busybox", "--overrides",
                      '{"spec":{"containers":[{"name":"huge","image":"busybox",'
                      '"resources":{"requests":{"cpu":"64"}}}]}}')

    def condition() -> dict[str, Any] | None:
        pod = apiserver.kubectl_json("get", "pod", "huge")
        found: dict[str, Any] | None = next(
            (c for c in pod["status"].get("conditions") or []
             if c["type"] == "PodScheduled" and c["status"] == "False"), None)
        return found

    found = eventually(condition)
    assert found["reason"] == "Unschedulable"
    assert found["message"].startswith("0/")
    assert "Insufficient cpu" in found["message"]
    # the scheduler records it just before it writes the condition (upstream's order); the
    # wait is for the event itself all the same
    eventually(lambda: "FailedScheduling" in apiserver.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=huge").stdout)


def test_preferred_node_affinity_picks_the_matching_node(
    apiserver: RunningApiServer, controllers: ControllerLoop, live_nodes: list[str]
) -> None:
    """The docs' pod-with-node-affinity preference, through real kubectl: the pod lands on
    the node with the preferred label; an invalid weight is a 422."""
    apiserver.kubectl("label", "node", "node2", "disktype=ssd", "--overwrite")
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [
            {"key": "disktype", "operator": "In", "values": ["ssd"]}]}}]}}
    for name in ("prefers-ssd-1", "prefers-ssd-2", "prefers-ssd-3"):
        apiserver.kubectl("run", name, "--image=busybox", "--overrides",
                          json.dumps({"spec": {"affinity": preferred}}))

        def bound(pod: str = name) -> Any:
            return apiserver.kubectl_json("get", "pod", pod)["spec"].get("nodeName")

        assert eventually(bound) == "node2"
    preferred["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0][
        "weight"] = 0
    result = apiserver.kubectl("run", "bad-weight", "--image=busybox", "--overrides",
                               json.dumps({"spec": {"affinity": preferred}}), check=False)
    assert result.returncode != 0 and ("preferredDuringSchedulingIgnoredDuringExecution[0]"
                                       ".weight: Invalid value: 0: must be in the range 1-100"
                                       ) in result.stderr


def test_deployment_replicasets_pods_and_endpointslices(
    apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest, live_nodes: list[str]
) -> None:
    apiserver.kubectl("apply", "-f", "-", input="""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
""")

    def pods() -> list[dict[str, Any]]:
        items = apiserver.kubectl_json("get", "pods", "-l", "app=web")["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    web = eventually(lambda: len(pods()) == 3 and pods())
    owners = {p["metadata"]["ownerReferences"][0]["name"] for p in web}
    assert len(owners) == 1 and owners.pop().startswith("web-")
    for i, pod in enumerate(web):
        set_pod_ready(rest, "default", pod["metadata"]["name"], f"10.244.0.{10 + i}", True)

    def ready_endpoints() -> set[str]:
        slices = apiserver.kubectl_json("get", "endpointslices", "-l",
                                        "kubernetes.io/service-name=web")["items"]
        return {e["addresses"][0] for s in slices for e in s.get("endpoints") or []
                if e["conditions"].get("ready")}

    assert eventually(lambda: len(ready_endpoints()) == 3 and ready_endpoints()) == {
        "10.244.0.10", "10.244.0.11", "10.244.0.12"}
    set_pod_ready(rest, "default", web[0]["metadata"]["name"], "10.244.0.10", False)
    eventually(lambda: "10.244.0.10" not in ready_endpoints(), timeout=30)

    def available(ready: int) -> str | None:
        status = apiserver.kubectl_json("get", "deploy", "web")["status"]
        if status.get("readyReplicas") != ready:
            return None
        return str(next(c["reason"] for c in status["conditions"] if c["type"] == "Available"))

    # 3 replicas allow floor(25% of 3) = 0 unavailable: one unready pod makes it unavailable
    assert eventually(lambda: available(2)) == "MinimumReplicasUnavailable"
    set_pod_ready(rest, "default", web[0]["metadata"]["name"], "10.244.0.10", True)
    assert eventually(lambda: available(3)) == "MinimumReplicasAvailable"
    apiserver.kubectl("rollout", "status", "deployment/web", "--timeout=10s")
    apiserver.kubectl("scale", "deployment", "web", "--replicas=1")
    eventually(lambda: len(pods()) == 1)


def test_deleting_a_deployment_collects_its_replicasets_and_pods(
    apiserver: RunningApiServer, controllers: ControllerLoop, live_nodes: list[str]
) -> None:
    apiserver.kubectl("create", "deployment", "gc", "--image=busybox", "--replicas=2")
    eventually(lambda: len(apiserver.kubectl_json("get", "pods", "-l", "app=gc")["items"]) == 2)
    apiserver.kubectl("delete", "deployment", "gc", "--cascade=background", "--wait=false")
    eventually(lambda: not apiserver.kubectl_json("get", "rs", "-l", "app=gc")["items"] or None,
               timeout=15)
    # pods go through graceful deletion (no kubelet here to finish it): all are terminating
    eventually(lambda: all(p["metadata"].get("deletionTimestamp") for p in
                           apiserver.kubectl_json("get", "pods", "-l", "app=gc")["items"]))


def test_required_pod_anti_affinity_spreads_a_deployment_and_holds_the_rest(
    apiserver: RunningApiServer, controllers: ControllerLoop, live_nodes: list[str]
) -> None:
    """Three replicas that must not share a node, on two nodes: one per node, and the third
    stays Pending with upstream's FailedScheduling text."""
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "lonely"},
                  "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "lonely"}},
                           "template": {"metadata": {"labels": {"app": "lonely"}}, "spec": {
                               "containers": [{"name": "c", "image": "busybox"}],
                               "affinity": {"podAntiAffinity": {
                                   "requiredDuringSchedulingIgnoredDuringExecution": [{
                                       "topologyKey": "kubernetes.io/hostname",
                                       "labelSelector": {"matchLabels": {"app": "lonely"}}}]}}}}}}
    apiserver.kubectl("create", "-f", "-", input=json.dumps(deployment))
    try:
        def placed() -> list[dict[str, Any]] | None:
            found = apiserver.kubectl_json("get", "pods", "-l", "app=lonely")
            pods: list[dict[str, Any]] = found["items"]
            pending = [p for p in pods if any(
                c["type"] == "PodScheduled" and c["status"] == "False"
                for c in p["status"].get("conditions") or [])]
            return pods if len(pods) == 3 and len(pending) == 1 else None

        pods = eventually(placed, timeout=30)
        nodes = sorted(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))
        assert nodes == sorted(live_nodes)
        waiting = next(p for p in pods if not p["spec"].get("nodeName"))
        condition = next(c for c in waiting["status"]["conditions"]
                         if c["type"] == "PodScheduled")
        assert condition["message"] == (
            "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. "
            "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming "
            "pod..")
    finally:
        apiserver.kubectl("delete", "deployment", "lonely", "--wait=false")

def test_a_silent_node_becomes_unknown_and_tainted(
    apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest,
    live_nodes: list[str]  # other nodes Ready: not every node down ("master disruption")
) -> None:
    make_ready_node(rest, "silent")

    def taints() -> set[tuple[str, str]]:
        node = apiserver.kubectl_json("get", "node", "silent")
        return {(t["key"], t["effect"]) for t in node.get("spec", {}).get("taints") or []}

    # (no check that it starts untainted: that races the 3 s grace period on a busy machine)
    unreachable = {("node.kubernetes.io/unreachable", "NoSchedule"),
                   ("node.kubernetes.io/unreachable", "NoExecute")}
    eventually(lambda: taints() == unreachable or None, timeout=15)
    node = apiserver.kubectl_json("get", "node", "silent")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    heartbeat(rest, "silent")
    eventually(lambda: taints() == set() or None, timeout=10)


def test_the_pods_of_a_silent_node_go_not_ready_and_intolerant_ones_are_evicted(
    apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest,
    live_nodes: list[str]
) -> None:
    make_ready_node(rest, "quiet")
    for name, seconds in (("stays", None), ("leaves", 1)):
        spec: dict[str, Any] = {"nodeName": "quiet",
                                "containers": [{"name": "c", "image": "busybox"}]}
        if seconds is not None:  # instead of DefaultTolerationSeconds' 300 s
            spec["tolerations"] = [{"key": "node.kubernetes.io/unreachable",
                                    "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": seconds}]
        rest.create("pods", "default", {"apiVersion": "v1", "kind": "Pod",
                                        "metadata": {"name": name}, "spec": spec})
        set_pod_ready(rest, "default", name, "10.244.9.9", True)
    stays = apiserver.kubectl_json("get", "pod", "stays")
    assert {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
            "effect": "NoExecute", "tolerationSeconds": 300} in stays["spec"]["tolerations"]

    def ready(name: str) -> str:
        pod = apiserver.kubectl_json("get", "pod", name)
        return str(next(c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready"))

    def events(name: str) -> list[dict[str, Any]]:
        return list(apiserver.kubectl_json("get", "events", "--field-selector",
                                           f"involvedObject.name={name}")["items"])

    eventually(lambda: ready("stays") == "False", timeout=15)
    # the controller records the event just after it marks the pod (MarkPodsNotReady)
    eventually(lambda: any((e["reason"], e["message"], e["type"]) == (
        "NodeNotReady", "Node is not ready", "Warning") for e in events("stays")))
    leaves = eventually(lambda: (p := apiserver.kubectl_json("get", "pod", "leaves"))[
        "metadata"].get("deletionTimestamp") and p, timeout=15)
    target = next(c for c in leaves["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")
    assert any(e["message"] == "Marking for deletion Pod default/leaves"
               for e in events("leaves"))
    assert not apiserver.kubectl_json("get", "pod", "stays")["metadata"].get("deletionTimestamp")
    heartbeat(rest, "quiet")  # the kubelet is back, and posts its pods' readiness again
    set_pod_ready(rest, "default", "stays", "10.244.9.9", True)
    eventually(lambda: any(e["message"] == "Cancelling deletion of Pod default/stays"
                           for e in events("stays")), timeout=10)
    assert ready("stays") == "True"  # not marked again: the node is Ready
