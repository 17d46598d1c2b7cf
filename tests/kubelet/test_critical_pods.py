"""Critical pods (nodelab/kubelet/eviction/critical.py, upstream's IsCriticalPod): never
evicted (evictPod refuses them) and admitted under any pressure. nodelab has no static pods,
so a pod is critical by its mirror annotation or a system-critical priority."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from nodelab.kubelet.config import KubeletConfig
from nodelab.kubelet.eviction.critical import is_critical
from nodelab.kubelet.eviction.evictor import Evictor

pytestmark = pytest.mark.unit


def pod(name: str, priority: int | None = None,
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if priority is not None:
        spec["priority"] = priority
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "annotations": annotations or {}},
            "spec": spec, "status": {"phase": "Running"}}


MIRROR = {"kubernetes.io/config.mirror": "0123abcd"}


@pytest.mark.parametrize(("subject", "critical"), [
    (pod("plain"), False),
    (pod("high", priority=1_000_000_000), False),  # the highest user-defined priority
    (pod("cluster", priority=2_000_000_000), True),  # system-cluster-critical
    (pod("node", priority=2_000_001_000), True),  # system-node-critical
    (pod("mirror", annotations=MIRROR), True),  # a static pod's mirror
    (pod("other-annotation", annotations={"kubernetes.io/config.source": "api"}), False),
])
def test_is_critical(subject: dict[str, Any], critical: bool) -> None:
    assert is_critical(subject) is critical


def test_the_eviction_manager_never_ranks_a_critical_pod(tmp_path: Path) -> None:
    evictor = Evictor(None, None, "node1", tmp_path, KubeletConfig())
    active = [pod("plain"), pod("cluster", priority=2_000_000_000),
              pod("mirror", annotations=MIRROR),
              {**pod("done"), "status": {"phase": "Succeeded"}}]
    evictor.pods = SimpleNamespace(active_pods=lambda: active)
    assert [p["metadata"]["name"] for p in evictor._candidates()] == ["plain"]
