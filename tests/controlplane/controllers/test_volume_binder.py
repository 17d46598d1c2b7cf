"""The PersistentVolume controller and the scheduler's volume binding against a real API
server, driven with real kubectl: the docs' volume and claim bind, `kubectl get` shows it,
a deleted claim releases a retained volume, events carry upstream's texts, and a pod whose
claim is missing or unbound stays Pending with upstream's FailedScheduling message."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.controlplane.controllers.loop import ControllerLoop
from nodelab.controlplane.controllers.setup import default_controllers
from tests.controlplane.apiserver import RunningApiServer, running_controllers
from tests.controlplane.controllers.test_controllers import (  # noqa: F401 (fixtures)
    eventually,
    live_nodes,
    rest,
)
from tests.controlplane.test_storage_api import DOCS_PV, DOCS_PVC, pv, pvc

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def controllers(apiserver: RunningApiServer) -> Iterator[ControllerLoop]:
    with running_controllers(apiserver, default_controllers(dt.timedelta(seconds=3))) as loop:
        yield loop


def phase(apiserver: RunningApiServer, kind: str, name: str) -> str:
    return str(apiserver.kubectl_json("get", kind, name).get("status", {}).get("phase"))


def events_of(apiserver: RunningApiServer, name: str) -> list[tuple[str, str, str]]:
    listed = apiserver.kubectl_json("get", "events", "-A",
                                    f"--field-selector=involvedObject.name={name}")
    return [(e["type"], e["reason"], e["message"]) for e in listed["items"]]


def test_the_docs_claim_binds_to_the_docs_volume(apiserver: RunningApiServer,
                                                 controllers: ControllerLoop) -> None:
    apiserver.kubectl("apply", "-f", "-", input=DOCS_PV)
    eventually(lambda: phase(apiserver, "pv", "task-pv-volume") == "Available")
    apiserver.kubectl("apply", "-f", "-", input=DOCS_PVC)
    eventually(lambda: phase(apiserver, "pvc", "task-pv-claim") == "Bound")
    eventually(lambda: phase(apiserver, "pv", "task-pv-volume") == "Bound")
    claim = apiserver.kubectl_json("get", "pvc", "task-pv-claim")
    volume = apiserver.kubectl_json("get", "pv", "task-pv-volume")
    assert claim["spec"]["volumeName"] == "task-pv-volume"
    assert claim["metadata"]["annotations"] == {
        "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
        "kubectl.kubernetes.io/last-applied-configuration":
            claim["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]}
    assert claim["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                               "capacity": {"storage": "10Gi"}}
    ref = volume["spec"]["claimRef"]
    assert (ref["namespace"], ref["name"], ref["uid"]) == (
        "default", "task-pv-claim", claim["metadata"]["uid"])
    # the docs' own output of `kubectl get pv task-pv-volume` and `kubectl get pvc`
    row = apiserver.kubectl("get", "pv", "task-pv-volume").stdout.splitlines()[1].split()
    assert row[:7] == ["task-pv-volume", "10Gi", "RWO", "Retain", "Bound",
                       "default/task-pv-claim", "manual"]
    row = apiserver.kubectl("get", "pvc", "task-pv-claim").stdout.splitlines()[1].split()
    assert row[:6] == ["task-pv-claim", "Bound", "task-pv-volume", "10Gi", "RWO", "manual"]

    # deleting the claim releases the volume, which Retain keeps with its claimRef
    apiserver.kubectl("delete", "pvc", "task-pv-claim")
    eventually(lambda: phase(apiserver, "pv", "task-pv-volume") == "Released")
    assert apiserver.kubectl_json("get", "pv", "task-pv-volume")["spec"]["claimRef"]["name"] \
        == "task-pv-claim"
    # a new claim of the same name does not get the released volume
    apiserver.kubectl("apply", "-f", "-", input=DOCS_PVC)
    eventually(lambda: ("Warning", "ProvisioningFailed",
                        'storageclass.storage.k8s.io "manual" not found')
               in events_of(apiserver, "task-pv-claim"))
    assert phase(apiserver, "pvc", "task-pv-claim") == "Pending"
    apiserver.kubectl("delete", "pvc", "task-pv-claim")
    apiserver.kubectl("delete", "pv", "task-pv-volume")


def test_pre_binding_and_its_mismatch(apiserver: RunningApiServer,
                                      controllers: ControllerLoop) -> None:
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pv("small", capacity={
        "storage": "1Gi"})))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc(
        "wants-small", volumeName="small", resources={"requests": {"storage": "2Gi"}})))
    eventually(lambda: ("Warning", "VolumeMismatch", 'Cannot bind to requested volume "small": '
                        "requested PV is too small") in events_of(apiserver, "wants-small"))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc("fits", volumeName="small")))
    eventually(lambda: phase(apiserver, "pvc", "fits") == "Bound")
    claim = apiserver.kubectl_json("get", "pvc", "fits")
    assert "pv.kubernetes.io/bound-by-controller" not in claim["metadata"]["annotations"]


def test_a_claim_with_nothing_to_bind_says_so(apiserver: RunningApiServer,
                                             controllers: ControllerLoop) -> None:
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc("lonely", storageClassName="")))
    eventually(lambda: ("Normal", "FailedBinding", "no persistent volumes available for this "
                        "claim and no storage class is set") in events_of(apiserver, "lonely"))
    described = apiserver.kubectl("describe", "pvc", "lonely").stdout
    assert "no persistent volumes available for this claim and no storage class is set" \
        in described


def test_delete_policy_on_a_host_path_fails_as_upstream(apiserver: RunningApiServer,
                                                        controllers: ControllerLoop) -> None:
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pv(
        "doomed", persistentVolumeReclaimPolicy="Delete", storageClassName="doomed")))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc(
        "doomed", storageClassName="doomed")))
    eventually(lambda: phase(apiserver, "pv", "doomed") == "Bound")
    apiserver.kubectl("delete", "pvc", "doomed")
    eventually(lambda: phase(apiserver, "pv", "doomed") == "Failed")
    message = "host_path deleter only supports /tmp/.+ but received provided /mnt/data"
    assert apiserver.kubectl_json("get", "pv", "doomed")["status"]["message"] == message
    # the binder records the event after it writes the phase, as upstream's
    eventually(lambda: ("Warning", "VolumeFailedDelete", message)
               in events_of(apiserver, "doomed"))


def pod_with(name: str, claim_name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {
                         "claimName": claim_name}}]}}


def scheduled_message(apiserver: RunningApiServer, name: str) -> str:
    conditions = apiserver.kubectl_json("get", "pod", name).get("status", {}).get(
        "conditions") or []
    return next((c.get("message", "") for c in conditions if c["type"] == "PodScheduled"), "")


def test_a_pod_waits_for_its_claim(apiserver: RunningApiServer, controllers: ControllerLoop,
                                   live_nodes: list[str]) -> None:  # noqa: F811
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pod_with("needs-claim", "later")))
    missing = ('0/2 nodes are available: persistentvolumeclaim "later" not found. preemption: '
               "0/2 nodes are available: 2 Preemption is not helpful for scheduling..")
    eventually(lambda: scheduled_message(apiserver, "needs-claim") == missing)
    eventually(lambda: ("Warning", "FailedScheduling", missing)
               in events_of(apiserver, "needs-claim"))
    apiserver.kubectl("create", "-f", "-", input=json.dumps(pvc("later", storageClassName="later")))
    unbound = ("0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for "
               "scheduling..")  # the double period is upstream's FitError
    eventually(lambda: scheduled_message(apiserver, "needs-claim") == unbound)
    apiserver.kubectl("create", "-f", "-", input=json.dumps(
        pv("for-later", storageClassName="later")))
    eventually(lambda: apiserver.kubectl_json("get", "pod", "needs-claim")["spec"].get(
        "nodeName") in live_nodes)
    # in-use protection: the claim stays Terminating while the pod uses it
    assert apiserver.kubectl_json("get", "pvc", "later")["metadata"]["finalizers"] == [
        "kubernetes.io/pvc-protection"]
    apiserver.kubectl("delete", "pvc", "later", "--wait=false")
    row = apiserver.kubectl("get", "pvc", "later").stdout.splitlines()[1].split()
    assert row[:2] == ["later", "Terminating"]
    apiserver.kubectl("delete", "pod", "needs-claim", "--grace-period=0", "--force")
    eventually(lambda: apiserver.kubectl("get", "pvc", "later", check=False).returncode == 1)
    apiserver.kubectl("delete", "pv", "for-later", "--timeout=30s")
