"""End to end: a lowered hard threshold gives MemoryPressure, evictions in upstream order and
BestEffort pods refused at admission.

`memory.available<1000Ti` is met on any machine, so the kubelet reports MemoryPressure and
evicts, one pod per monitoring period, in upstream's order: neither pod requests memory (the
threshold leaves the node no allocatable memory, so admission would refuse a pod that did, as
upstream's OutOfmemory), so the lower priority goes first; their sandboxes are stopped through
CRI. Both request cpu (Burstable): the kubelet is under MemoryPressure before it admits them,
and the eviction manager's admit handler refuses a BestEffort pod then, as the third pod shows.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import pytest

from nodelab.cri import api_pb2 as cri
from tests.kubelet.conftest import Workload
from tests.kubelet.processes import ControlPlane, KubeletFactory, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.privileged]


def _pod(cp: ControlPlane, name: str) -> dict[str, Any]:
    out = cp.kubectl("get", "pod", name, "-o", "json")
    assert out.returncode == 0, out.stderr
    pod: dict[str, Any] = json.loads(out.stdout)
    return pod


def test_memory_pressure_and_eviction_order(
    controlplane: ControlPlane, workload: Workload, start_kubelet: KubeletFactory
) -> None:
    node = f"nlkt-{os.urandom(3).hex()}"
    high = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": f"{node}-high"}, "value": 1000}
    made = controlplane.kubectl("apply", "-f", "-", input=json.dumps(high))
    assert made.returncode == 0, made.stderr
    pods = {"nlkt-guarded": {"priorityClassName": f"{node}-high"}, "nlkt-greedy": {}}
    burstable = {"requests": {"cpu": "10m"}}
    for name, extra in {**pods, "nlkt-besteffort": {}}.items():  # bound before the kubelet looks
        resources = {} if name == "nlkt-besteffort" else burstable
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "app", "image": workload.image,
                                             "command": ["sleep", "3600"],
                                             "resources": resources}], **extra}}
        made = controlplane.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        assert made.returncode == 0, made.stderr
    run = start_kubelet(workload.runtime.endpoint,
                        {"evictionHard": {"memory.available": "1000Ti"},
                         "evictionMonitoringPeriod": "2s"}, name=node)
    wait_for(lambda: controlplane.kubectl("get", "node", node).returncode == 0, 30,
             f"node {node}:\n{run.current.output()}")

    def condition(kind: str) -> dict[str, Any] | None:
        out = controlplane.kubectl("get", "node", node, "-o", "json")
        conds = json.loads(out.stdout)["status"].get("conditions", [])
        found: dict[str, Any] | None = next((c for c in conds if c["type"] == kind), None)
        return found

    pressure = wait_for(lambda: (c := condition("MemoryPressure")) and c["status"] == "True"
                        and c, 30, f"MemoryPressure:\n{run.current.output()}")
    assert pressure["reason"] == "KubeletHasInsufficientMemory"
    assert pressure["message"] == "kubelet has insufficient memory available"

    def evicted(name: str) -> bool:
        return bool(_pod(controlplane, name)["status"].get("reason") == "Evicted")

    for name in pods:
        wait_for(lambda: evicted(name), 30,  # noqa: B023 - called before name changes
                 f"eviction of {name}:\n{run.current.output()}")
    greedy = _pod(controlplane, "nlkt-greedy")["status"]
    assert greedy["phase"] == "Failed"
    assert re.match(r"The node was low on resource: memory\. Threshold quantity: 1000Ti, "
                    r"available: \d+\w*\. (Container app was using \d+\w*, request is 0, "
                    r"has larger consumption of memory\. )?$", greedy["message"]), greedy["message"]
    assert any(c["type"] == "DisruptionTarget" for c in greedy.get("conditions", []))
    order = re.findall(r"evicting pod default/(nlkt-\w+)", run.current.output())
    assert order[:2] == ["nlkt-greedy", "nlkt-guarded"]
    # the BestEffort pod was refused at admission: nothing of it ever ran
    refused = _pod(controlplane, "nlkt-besteffort")["status"]
    assert (refused["phase"], refused["reason"], refused["message"]) == (
        "Failed", "Evicted", "Pod was rejected: The node had condition: [MemoryPressure]. ")
    assert "nlkt-besteffort" not in order
    events = controlplane.kubectl("get", "events", "-o", "json")
    reasons = {(e["involvedObject"]["name"], e["reason"], e["message"])
               for e in json.loads(events.stdout)["items"]}
    assert ("nlkt-besteffort", "Evicted", "The node had condition: [MemoryPressure]. ") in reasons
    assert any(r[:2] == ("nlkt-greedy", "Evicted") for r in reasons)
    assert any(r[:2] == (node, "NodeHasInsufficientMemory") for r in reasons)
    uid = _pod(controlplane, "nlkt-greedy")["metadata"]["uid"]

    def sandboxes() -> list[Any]:
        return list(workload.runner.rt.ListPodSandbox(cri.ListPodSandboxRequest(
            filter=cri.PodSandboxFilter(label_selector={"io.kubernetes.pod.uid": uid})),
            timeout=10).items)

    # the pod's worker stops it right after posting Failed, and starts nothing again
    wait_for(lambda: all(s.state == cri.SANDBOX_NOTREADY for s in sandboxes()), 10,
             f"the evicted pod's sandbox still runs:\n{run.current.output()}")
    stopped = {s.id for s in sandboxes()}
    time.sleep(2.5)  # a few PLEG relists and worker syncs
    assert {s.id for s in sandboxes()} == stopped
    assert all(s.state == cri.SANDBOX_NOTREADY for s in sandboxes())
    besteffort_uid = _pod(controlplane, "nlkt-besteffort")["metadata"]["uid"]
    assert not list(workload.runner.rt.ListPodSandbox(cri.ListPodSandboxRequest(
        filter=cri.PodSandboxFilter(label_selector={"io.kubernetes.pod.uid": besteffort_uid})),
        timeout=10).items)
    for name in [*pods, "nlkt-besteffort"]:
        controlplane.kubectl("delete", "pod", name, "--grace-period=0", "--force")
    controlplane.kubectl("delete", "priorityclass", f"{node}-high")
