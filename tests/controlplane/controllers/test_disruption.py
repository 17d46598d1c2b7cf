"""The disruption controller and the eviction API against a real API server process, with the
official Python client and real kubectl (the test writes pod readiness as a kubelet would;
the lab test, tests/lab/test_drain_pdb.py, drains a real node).

A Deployment of 3 and a budget of minAvailable 2: the controller's status, one eviction
allowed (the budget goes to 0 with the pod in disruptedPods, the pod gets DisruptionTarget),
the next a 429 with upstream's message and cause until a replacement is Ready; more than one
budget is a 500; finished pods go freely; an unhealthy pod goes under AlwaysAllow; a dry run
changes nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from nodelab.controlplane.controllers.loop import ControllerLoop
from nodelab.controlplane.controllers.setup import default_controllers
from nodelab.kube.rest import Rest
from tests.controlplane.apiserver import RunningApiServer, running_controllers
from tests.controlplane.controllers.test_controllers import (
    eventually,
    heartbeat,
    make_ready_node,
    set_pod_ready,
)

pytestmark = [pytest.mark.slow]

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME}
spec:
  replicas: 3
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: c, image: busybox}]}
"""


@pytest.fixture(scope="module")
def controllers(apiserver: RunningApiServer) -> Iterator[ControllerLoop]:
    with running_controllers(apiserver, default_controllers()) as loop:
        yield loop


@pytest.fixture(scope="module")
def rest(apiserver: RunningApiServer) -> Iterator[Rest]:
    """node1, Ready, its status and lease renewed every half second as its kubelet would: the
    node lifecycle controller among the controllers would otherwise mark it Unknown (and its
    pods not Ready) once the module has run past the 50 s grace period."""
    rest = Rest(apiserver.client())
    make_ready_node(rest, "node1")
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(0.5):
            heartbeat(rest, "node1")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield rest
    finally:
        stop.set()
        thread.join()


@pytest.fixture(scope="module")
def core(apiserver: RunningApiServer) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(apiserver.client())


def ready_deployment(apiserver: RunningApiServer, rest: Rest, name: str) -> list[str]:
    """A Deployment of 3 whose pods are bound, Running and Ready (as their kubelet would
    say)."""
    apiserver.kubectl("apply", "-f", "-", input=DEPLOYMENT.replace("NAME", name))
    return ready_pods(apiserver, rest, name, 3)


def ready_pods(apiserver: RunningApiServer, rest: Rest, app: str, count: int) -> list[str]:
    def live() -> list[str] | None:
        pods = [p for p in apiserver.kubectl_json("get", "pods", "-l", f"app={app}")["items"]
                if not p["metadata"].get("deletionTimestamp")]
        bound = len(pods) == count and all(p["spec"].get("nodeName") for p in pods)
        return [p["metadata"]["name"] for p in pods] if bound else None

    names: list[str] = eventually(live)
    for i, pod in enumerate(names):
        set_pod_ready(rest, "default", pod, f"10.244.0.{10 + i}", True)
    return names


def budget_status(apiserver: RunningApiServer, name: str) -> dict[str, Any]:
    status: dict[str, Any] = apiserver.kubectl_json("get", "pdb", name)["status"]
    return status


def settled(apiserver: RunningApiServer, name: str, **wanted: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status = budget_status(apiserver, name)
        return status if all(status.get(k) == v for k, v in wanted.items()) else None

    found: dict[str, Any] = eventually(check, timeout=30)
    return found


def evict(core: k8s.CoreV1Api, name: str, dry_run: str | None = None) -> Any:
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=name, namespace="default"))
    if dry_run:
        return core.create_namespaced_pod_eviction(name, "default", body, dry_run=dry_run)
    return core.create_namespaced_pod_eviction(name, "default", body)


def refusal(core: k8s.CoreV1Api, name: str) -> tuple[int, dict[str, Any], Any]:
    with pytest.raises(ApiException) as caught:
        evict(core, name)
    return caught.value.status, json.loads(caught.value.body), caught.value.headers


def test_eviction_respects_the_budget(apiserver: RunningApiServer, controllers: ControllerLoop,
                                      rest: Rest, core: k8s.CoreV1Api) -> None:
    first, second, third = ready_deployment(apiserver, rest, "web3")
    apiserver.kubectl("create", "pdb", "web3", "--selector=app=web3", "--min-available=2")
    status = settled(apiserver, "web3", currentHealthy=3, desiredHealthy=2, expectedPods=3,
                     disruptionsAllowed=1, observedGeneration=1)
    (condition,) = status["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "DisruptionAllowed", "True", "SufficientPods")
    rows = apiserver.kubectl("get", "pdb", "web3", "--no-headers").stdout.split()
    assert rows[:4] == ["web3", "2", "N/A", "1"]

    # a dry run changes nothing
    evict(core, first, dry_run="All")
    assert budget_status(apiserver, "web3")["disruptionsAllowed"] == 1
    assert not apiserver.kubectl_json("get", "pod", first)["metadata"].get("deletionTimestamp")

    # the first eviction is allowed (the budget's disruptedPods entry goes as soon as the
    # controller sees the pod being deleted: test_an_eviction_whose_delete_fails shows it)
    evict(core, first)  # 201 (the client reads the Status answer as an Eviction)
    assert budget_status(apiserver, "web3")["disruptionsAllowed"] == 0
    pod = apiserver.kubectl_json("get", "pod", first)
    assert pod["metadata"]["deletionTimestamp"]
    target = next(c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "EvictionByEvictionAPI", "Eviction API: evicting")

    # the second is refused while only 2 are healthy
    settled(apiserver, "web3", currentHealthy=2, disruptionsAllowed=0)
    code, body, headers = refusal(core, second)
    assert code == 429 and body["reason"] == "TooManyRequests"
    assert body["message"] == ("Cannot evict pod as it would violate the pod's disruption "
                               "budget.")
    assert body["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget web3 needs 2 healthy pods and has 2 currently"}]
    assert "Retry-After" not in headers
    assert not apiserver.kubectl_json("get", "pod", second)["metadata"].get("deletionTimestamp")

    # kubectl's own eviction (drain) reads the same refusal
    drained = apiserver.kubectl("drain", "node1", "--pod-selector=app=web3", "--timeout=3s",
                                "--ignore-daemonsets", check=False)
    assert "Cannot evict pod as it would violate the pod's disruption budget." in \
        drained.stderr
    apiserver.kubectl("uncordon", "node1")

    # a Ready replacement gives the budget room again
    replacement = next(n for n in ready_pods(apiserver, rest, "web3", 3)
                       if n not in (first, second, third))
    assert replacement
    settled(apiserver, "web3", currentHealthy=3, disruptionsAllowed=1)
    evict(core, second)
    assert apiserver.kubectl_json("get", "pod", second)["metadata"]["deletionTimestamp"]


def test_an_eviction_whose_delete_fails_holds_the_budget(
        apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest,
        core: k8s.CoreV1Api) -> None:
    """The budget is decremented before the delete (as upstream): when the delete then fails
    (here a UID precondition), the pod stays in disruptedPods and counts as not healthy until
    the entry expires (2 minutes), so the budget allows nothing meanwhile."""
    first, second, _ = ready_deployment(apiserver, rest, "held")
    apiserver.kubectl("create", "pdb", "held", "--selector=app=held", "--max-unavailable=1")
    settled(apiserver, "held", currentHealthy=3, desiredHealthy=2, disruptionsAllowed=1)
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=first, namespace="default"),
                          delete_options=k8s.V1DeleteOptions(
                              preconditions=k8s.V1Preconditions(uid="not-the-uid")))
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod_eviction(first, "default", body)
    assert caught.value.status == 409
    assert json.loads(caught.value.body)["message"] == (
        f'Operation cannot be fulfilled on Pod "{first}": the UID in the precondition '
        "(not-the-uid) does not match the UID in record "
        f"({apiserver.kubectl_json('get', 'pod', first)['metadata']['uid']}). The object might "
        "have been deleted and then recreated")
    status = settled(apiserver, "held", currentHealthy=2, disruptionsAllowed=0)
    assert list(status["disruptedPods"]) == [first]
    assert not apiserver.kubectl_json("get", "pod", first)["metadata"].get("deletionTimestamp")
    code, _, _ = refusal(core, second)
    assert code == 429


def test_two_budgets_are_a_500(apiserver: RunningApiServer, controllers: ControllerLoop,
                               rest: Rest, core: k8s.CoreV1Api) -> None:
    pods = ready_deployment(apiserver, rest, "twice")
    apiserver.kubectl("create", "pdb", "twice-a", "--selector=app=twice", "--max-unavailable=1")
    apiserver.kubectl("create", "pdb", "twice-b", "--selector=app=twice", "--max-unavailable=1")
    settled(apiserver, "twice-a", disruptionsAllowed=1)
    code, body, _ = refusal(core, pods[0])
    assert (code, body["message"]) == (500, "This pod has more than one "
                                       "PodDisruptionBudget, which the eviction subresource "
                                       "does not support.")

    def warned() -> bool:
        events = apiserver.kubectl("get", "events", "--field-selector",
                                   f"involvedObject.name={pods[0]}").stdout
        return "MultiplePodDisruptionBudgets" in events

    assert eventually(warned)


def test_finished_and_unhealthy_pods(apiserver: RunningApiServer, controllers: ControllerLoop,
                                     rest: Rest, core: k8s.CoreV1Api) -> None:
    first, second, third = ready_deployment(apiserver, rest, "frail")
    apiserver.kubectl("create", "pdb", "frail", "--selector=app=frail", "--min-available=3")
    settled(apiserver, "frail", currentHealthy=3, desiredHealthy=3, disruptionsAllowed=0)
    code, _, _ = refusal(core, first)
    assert code == 429
    # a pod that finished goes whatever the budget says
    rest.patch("pods", "default", first, {"status": {"phase": "Succeeded"}},
               subresource="status")
    evict(core, first)
    # a pod that is not Ready: refused while the budget is short (IfHealthyBudget) ...
    set_pod_ready(rest, "default", second, "10.244.0.11", False)
    settled(apiserver, "frail", currentHealthy=1)
    code, _, _ = refusal(core, second)
    assert code == 429
    # ... and let go under AlwaysAllow, without using the budget
    apiserver.kubectl("patch", "pdb", "frail", "--type=merge", "-p",
                      '{"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}')
    settled(apiserver, "frail", observedGeneration=2)
    evict(core, second)
    assert apiserver.kubectl_json("get", "pod", second)["metadata"]["deletionTimestamp"]
    assert "disruptedPods" not in budget_status(apiserver, "frail")
    code, body, _ = refusal(core, third)  # Ready, budget at 0
    assert code == 429 and "needs 3 healthy pods" in body["details"]["causes"][0]["message"]


def test_preemption_spares_the_pod_a_budget_guards(
        apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest) -> None:
    """Two pods of equal priority fill node1; the earlier-started one would be kept by
    default, but the other is guarded by a budget that allows no disruption: the scheduler
    preempts the unguarded one (upstream's filterPodsWithPDBViolation)."""
    apiserver.kubectl("create", "priorityclass", "urgent", "--value=1000")
    for name, started in (("plain", "2026-01-01T00:00:00Z"), ("guarded", "2026-01-01T00:01:00Z")):
        apiserver.kubectl("run", name, "--image=busybox", f"--labels=app={name}",
                          "--overrides", json.dumps({"spec": {"containers": [{
                              "name": name, "image": "busybox",
                              "resources": {"requests": {"cpu": "900m"}}}]}}))
        def bound(pod: str = name) -> bool:
            return bool(apiserver.kubectl_json("get", "pod", pod)["spec"].get("nodeName"))

        eventually(bound)
        rest.patch("pods", "default", name, {"status": {
            "phase": "Running", "startTime": started,
            "conditions": [{"type": "Ready", "status": "True"}]}}, subresource="status")
    apiserver.kubectl("create", "pdb", "guarded", "--selector=app=guarded", "--min-available=1")
    settled(apiserver, "guarded", currentHealthy=1, desiredHealthy=1, disruptionsAllowed=0)
    apiserver.kubectl("run", "urgent", "--image=busybox", "--overrides", json.dumps({"spec": {
        "priorityClassName": "urgent", "containers": [{
            "name": "urgent", "image": "busybox", "resources": {"requests": {"cpu": "900m"}}}]}}))
    eventually(lambda: apiserver.kubectl_json("get", "pod", "plain")["metadata"].get(
        "deletionTimestamp"))
    assert not apiserver.kubectl_json("get", "pod", "guarded")["metadata"].get(
        "deletionTimestamp")
    assert eventually(lambda: apiserver.kubectl_json("get", "pod", "urgent")["status"].get(
        "nominatedNodeName")) == "node1"
    apiserver.kubectl("delete", "pod", "plain", "guarded", "urgent", "--grace-period=0",
                      "--force")


WIDGETS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {replicas: {type: integer}}}
          status: {type: object, properties: {replicas: {type: integer}}}
    subresources:
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
"""


def owned_pod(apiserver: RunningApiServer, name: str, app: str, owner: dict[str, Any]) -> None:
    apiserver.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}, "ownerReferences": [
            {**owner, "controller": True}]},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))


def test_owners_of_other_kinds_go_through_their_scale(
        apiserver: RunningApiServer, controllers: ControllerLoop, rest: Rest) -> None:
    """A custom resource's scale counts (upstream's getScaleController); a Job has none, so
    a budget that needs it fails safe with upstream's reason and text."""
    apiserver.kubectl("apply", "-f", "-", input=WIDGETS)
    eventually(lambda: "widgets" in apiserver.kubectl("api-resources",
                                                      "--api-group=example.com").stdout)
    apiserver.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"replicas": 4}}))
    widget = apiserver.kubectl_json("get", "widget", "w")
    owned_pod(apiserver, "w-0", "widget", {"apiVersion": "example.com/v1", "kind": "Widget",
                                           "name": "w", "uid": widget["metadata"]["uid"]})
    apiserver.kubectl("create", "pdb", "widget", "--selector=app=widget",
                      "--max-unavailable=50%")
    settled(apiserver, "widget", expectedPods=4, desiredHealthy=2, observedGeneration=1)

    apiserver.kubectl("apply", "-f", "-", input=json.dumps({  # its pod is the Job's own
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"metadata": {"labels": {"app": "once"}}, "spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}))
    eventually(lambda: apiserver.kubectl_json("get", "pods", "-l", "app=once")["items"])
    apiserver.kubectl("create", "pdb", "once", "--selector=app=once", "--max-unavailable=1")

    def failed() -> dict[str, Any] | None:
        conditions = budget_status(apiserver, "once").get("conditions") or []
        found: dict[str, Any] | None = next(
            (c for c in conditions if c.get("reason") == "SyncFailed"), None)
        return found

    condition = eventually(failed, timeout=30)
    assert (condition["type"], condition["status"], condition["message"]) == (
        "DisruptionAllowed", "False", "jobs.batch does not implement the scale subresource")
    # the controller records a budget's events before its status write (upstream's trySync);
    # the wait is for the event itself all the same
    eventually(lambda: "CalculateExpectedPodCountFailed" in apiserver.kubectl(
        "get", "events", "--field-selector",
        "involvedObject.name=once,involvedObject.kind=PodDisruptionBudget").stdout)
