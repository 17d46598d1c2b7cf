"""The Summary API (`/stats/summary`) and `/metrics`, as pure functions of measurements.

`/stats/summary` is what metrics-server and `kubectl top` read from every kubelet
(`stats/v1alpha1.Summary`): a `node` block (cpu, memory, fs, runtime.imageFs, rlimit) and one
block per pod with its containers. The node figures come from the same measurements as the
eviction signals (so the numbers a learner sees are the ones that trigger evictions); the
containers' come from CRI `ListContainerStats`.

`/metrics` is Prometheus text with a few of upstream's kubelet metric names:
`kubelet_node_name`, `kubelet_running_pods`, `kubelet_running_containers`,
`kubelet_evictions`, `kubelet_node_status_posts_total` (nodelab's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.kubelet.eviction.thresholds import Observation


@dataclass(frozen=True)
class ContainerSample:
    """One container's CRI stats, already read out of protobuf."""

    pod_uid: str
    pod_name: str
    pod_namespace: str
    name: str
    cpu_core_nanoseconds: int
    memory_working_set: int
    memory_usage: int
    rootfs_used: int


def _fs(obs: Observation | None, inodes: Observation | None, now: str) -> dict[str, Any]:
    if obs is None:
        return {"time": now}
    block: dict[str, Any] = {
        "time": now, "availableBytes": obs.available, "capacityBytes": obs.capacity,
        "usedBytes": obs.capacity - obs.available,
    }
    if inodes is not None:
        block.update(inodesFree=inodes.available, inodes=inodes.capacity,
                     inodesUsed=inodes.capacity - inodes.available)
    return block


def summary(
    node_name: str,
    start_time: str,
    now: str,
    observed: Mapping[str, Observation],
    cpu_core_nanoseconds: int,
    samples: Sequence[ContainerSample],
) -> dict[str, Any]:
    memory = observed.get("memory.available")
    pids = observed.get("pid.available")
    node: dict[str, Any] = {
        "nodeName": node_name,
        "startTime": start_time,
        "cpu": {"time": now, "usageCoreNanoSeconds": cpu_core_nanoseconds},
        "memory": {"time": now},
        "fs": _fs(observed.get("nodefs.available"), observed.get("nodefs.inodesFree"), now),
        "runtime": {"imageFs": _fs(observed.get("imagefs.available"),
                                   observed.get("imagefs.inodesFree"), now)},
    }
    if memory is not None:
        used = memory.capacity - memory.available
        node["memory"].update(availableBytes=memory.available, usageBytes=used,
                              workingSetBytes=used)
    if pids is not None:
        node["rlimit"] = {"time": now, "maxpid": pids.capacity,
                          "curproc": pids.capacity - pids.available}
    pods: dict[str, dict[str, Any]] = {}
    for s in samples:
        pod = pods.setdefault(s.pod_uid, {
            "podRef": {"name": s.pod_name, "namespace": s.pod_namespace, "uid": s.pod_uid},
            "containers": [],
            "cpu": {"time": now, "usageCoreNanoSeconds": 0},
            "memory": {"time": now, "workingSetBytes": 0, "usageBytes": 0},
        })
        pod["containers"].append({
            "name": s.name,
            "cpu": {"time": now, "usageCoreNanoSeconds": s.cpu_core_nanoseconds},
            "memory": {"time": now, "workingSetBytes": s.memory_working_set,
                       "usageBytes": s.memory_usage},
            "rootfs": {"time": now, "usedBytes": s.rootfs_used},
        })
        pod["cpu"]["usageCoreNanoSeconds"] += s.cpu_core_nanoseconds
        pod["memory"]["workingSetBytes"] += s.memory_working_set
        pod["memory"]["usageBytes"] += s.memory_usage
    return {"node": node, "pods": list(pods.values())}


def metrics_text(
    node_name: str, running_pods: int, container_states: Mapping[str, int],
    evictions: Mapping[str, int], status_posts: int,
) -> str:
    lines = [
        "# HELP kubelet_node_name The node's name. The count is always 1.",
        "# TYPE kubelet_node_name gauge",
        f'kubelet_node_name{{node="{node_name}"}} 1',
        "# HELP kubelet_running_pods Number of pods that have a running pod sandbox",
        "# TYPE kubelet_running_pods gauge",
        f"kubelet_running_pods {running_pods}",
        "# HELP kubelet_running_containers Number of containers currently running",
        "# TYPE kubelet_running_containers gauge",
    ]
    for state, count in sorted(container_states.items()):
        lines.append(f'kubelet_running_containers{{container_state="{state}"}} {count}')
    lines += ["# HELP kubelet_evictions Cumulative number of pod evictions by eviction signal",
              "# TYPE kubelet_evictions counter"]
    for signal, count in sorted(evictions.items()):
        lines.append(f'kubelet_evictions{{eviction_signal="{signal}"}} {count}')
    lines += ["# HELP kubelet_node_status_posts_total Node status updates sent (nodelab)",
              "# TYPE kubelet_node_status_posts_total counter",
              f"kubelet_node_status_posts_total {status_posts}"]
    return "\n".join(lines) + "\n"
