"""The eviction manager's admit handler (upstream's eviction_manager.go Admit) and the order
of the admit handlers, against upstream's reason and message."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.admission import Rejection, admit_pod
from nodelab.kubelet.pods.admission.pressure import admit_under_pressure

pytestmark = pytest.mark.unit

NODE: dict[str, Any] = {"metadata": {"name": "node1", "labels": {"kubernetes.io/os": "linux"}},
                        "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "110"}}}
MEMORY_TAINT = "node.kubernetes.io/memory-pressure"


def pod(qos: str = "BestEffort", tolerations: list[dict[str, Any]] | None = None,
        priority: int | None = None, annotations: dict[str, str] | None = None,
        sysctls: list[dict[str, str]] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "BestEffort": {},
        "Burstable": {"requests": {"cpu": "100m"}},
        "Guaranteed": {"requests": {"cpu": "100m", "memory": "64Mi"},
                       "limits": {"cpu": "100m", "memory": "64Mi"}},
    }[qos]
    spec: dict[str, Any] = {"nodeName": "node1",
                            "containers": [{"name": "c", "image": "busybox",
                                            "resources": resources}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    if priority is not None:
        spec["priority"] = priority
    if sysctls is not None:
        spec["securityContext"] = {"sysctls": sysctls}
    return {"metadata": {"name": "p", "uid": "uid-p", "annotations": annotations or {}},
            "spec": spec, "status": {"phase": "Pending"}}


def evicted(*conditions: str) -> Rejection:
    return Rejection("Evicted", f"The node had condition: [{' '.join(conditions)}]. ")


MEMORY = {"MemoryPressure"}


@pytest.mark.parametrize("candidate, conditions, verdict", [
    (pod(), set(), None),
    # MemoryPressure alone refuses BestEffort pods only
    (pod(), MEMORY, evicted("MemoryPressure")),
    (pod("Burstable"), MEMORY, None),
    (pod("Guaranteed"), MEMORY, None),
    # ... unless they tolerate the memory-pressure NoSchedule taint
    (pod(tolerations=[{"key": MEMORY_TAINT, "operator": "Exists", "effect": "NoSchedule"}]),
     MEMORY, None),
    (pod(tolerations=[{"key": MEMORY_TAINT, "operator": "Exists"}]), MEMORY, None),
    (pod(tolerations=[{"operator": "Exists"}]), MEMORY, None),
    (pod(tolerations=[{"key": MEMORY_TAINT, "operator": "Exists", "effect": "NoExecute"}]),
     MEMORY, evicted("MemoryPressure")),
    (pod(tolerations=[{"key": "node.kubernetes.io/disk-pressure", "operator": "Exists"}]),
     MEMORY, evicted("MemoryPressure")),
    # any other condition refuses every pod that is not critical, tolerations or not
    (pod("Guaranteed"), {"DiskPressure"}, evicted("DiskPressure")),
    (pod(tolerations=[{"operator": "Exists"}]), {"DiskPressure"}, evicted("DiskPressure")),
    (pod("Burstable"), {"PIDPressure"}, evicted("PIDPressure")),
    (pod("Burstable"), {"DiskPressure", "MemoryPressure"},
     evicted("MemoryPressure", "DiskPressure")),
    (pod(tolerations=[{"operator": "Exists"}]), {"PIDPressure", "MemoryPressure"},
     evicted("MemoryPressure", "PIDPressure")),
    # critical pods are admitted under any pressure
    (pod(priority=2000000000), {"DiskPressure", "MemoryPressure"}, None),
    (pod(priority=2000001000), MEMORY, None),
    (pod(priority=1999999999), MEMORY, evicted("MemoryPressure")),
    (pod(annotations={"kubernetes.io/config.mirror": "abc"}), {"DiskPressure"}, None),
])
def test_admit_under_pressure(candidate: dict[str, Any], conditions: set[str],
                              verdict: Rejection | None) -> None:
    assert admit_under_pressure(candidate, conditions) == verdict


SYSCTL = [{"name": "kernel.msgmax", "value": "1"}]  # not in the safe set


@pytest.mark.parametrize("candidate, pressure, reason", [
    (pod(), set(), None),
    # the eviction manager's handler comes first, then the sysctls, then the predicates
    (pod(sysctls=SYSCTL), MEMORY, "Evicted"),
    (pod(sysctls=SYSCTL), set(), "SysctlForbidden"),
    (pod("Burstable", sysctls=SYSCTL), MEMORY, "SysctlForbidden"),
    ({**pod("Burstable"), "spec": {**pod("Burstable")["spec"], "nodeName": "node2"}}, MEMORY,
     "NodeName"),
])
def test_the_admit_handlers_run_in_upstreams_order(candidate: dict[str, Any],
                                                    pressure: set[str],
                                                    reason: str | None) -> None:
    verdict = admit_pod(candidate, NODE, pressure, [])
    assert (verdict.reason if verdict else None) == reason
