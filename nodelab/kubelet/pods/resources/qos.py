"""QoS classes and the resources they turn into, with upstream's formulas.

- the class: `nodelab.kube.pod.qos` (upstream's GetPodQOS, shared with the API server);
- cgroup parent (cgroupfs layout): `kubepods/pod<uid>` (Guaranteed),
  `kubepods/burstable/pod<uid>`, `kubepods/besteffort/pod<uid>`.
- cpu shares = milliCPU * 1024 / 1000 (min 2); quota = milliCPU * 100000 / 1000 us
  (min 1000) with period 100000 us.
- oom_score_adj: Guaranteed -997, BestEffort 1000, Burstable
  min(max(2, 1000 - 1000 * memoryRequest / memoryCapacity), 999).
"""

from __future__ import annotations

from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.qos import BEST_EFFORT, GUARANTEED, pod_qos
from nodelab.kube.quantities import parse_quantity

MIN_SHARES = 2
QUOTA_PERIOD = 100_000
MIN_QUOTA = 1000


def _resources(container: ObjectView) -> tuple[dict[str, Any], dict[str, Any]]:
    resources = container.get("resources") or {}
    limits = dict(resources.get("limits") or {})
    requests = dict(resources.get("requests") or {})
    for name, value in limits.items():
        requests.setdefault(name, value)  # a limit without a request requests the limit
    return requests, limits


def qos_class(pod: ObjectView) -> str:
    """The pod's QoS class (`nodelab.kube.pod.qos`, upstream's GetPodQOS)."""
    return pod_qos(pod)


def cgroup_parent(pod: ObjectView, cgroup_root: str = "/") -> str:
    """The pod's cgroup parent for the runtime. With the default root ("/") it is relative
    (`kubepods/...`, which nodelab's runtime nests under its own root); with a configured root
    it is absolute (`/<root>/kubepods/...`), as containerd expects."""
    uid = (pod.get("metadata") or {}).get("uid", "")
    qos = qos_class(pod)
    relative = f"kubepods/pod{uid}" if qos == GUARANTEED else f"kubepods/{qos.lower()}/pod{uid}"
    root = cgroup_root.strip("/")
    return f"/{root}/{relative}" if root else relative


def milli_cpu(value: Any) -> int:
    return parse_quantity(value, milli=True)


def cpu_shares(milli: int) -> int:
    return max(MIN_SHARES, milli * 1024 // 1000)


def cpu_quota(milli: int) -> int:
    return max(MIN_QUOTA, milli * QUOTA_PERIOD // 1000)


def oom_score_adj(pod: ObjectView, container: ObjectView, memory_capacity: int) -> int:
    qos = qos_class(pod)
    if qos == GUARANTEED:
        return -997
    if qos == BEST_EFFORT:
        return 1000
    requests, _ = _resources(container)
    request = parse_quantity(requests["memory"]) if "memory" in requests else 0
    score = 1000 - (1000 * request) // max(memory_capacity, 1)
    return min(max(2, score), 999)


def container_resources(pod: ObjectView, container: ObjectView, memory_capacity: int) -> dict[str,
                        Any]:
    """The CRI LinuxContainerResources (as JSON) for one container."""
    requests, limits = _resources(container)
    resources: dict[str, Any] = {
        "cpuShares": cpu_shares(milli_cpu(requests["cpu"])) if "cpu" in requests else MIN_SHARES,
        "oomScoreAdj": oom_score_adj(pod, container, memory_capacity),
    }
    if "cpu" in limits:
        resources["cpuPeriod"] = QUOTA_PERIOD
        resources["cpuQuota"] = cpu_quota(milli_cpu(limits["cpu"]))
    if "memory" in limits:
        resources["memoryLimitInBytes"] = parse_quantity(limits["memory"])
    return resources
