"""Reading the raw figures behind `/stats/summary`: /proc/stat and CRI container stats."""

from __future__ import annotations

import os
from pathlib import Path

from cri_api.v1 import api_pb2 as cri

from nodelab.kubelet.stats import ContainerSample

CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}


def cpu_core_nanoseconds(stat_text: str | None = None) -> int:
    """CPU time used by the whole machine since boot (all but idle and iowait), in ns."""
    text = stat_text if stat_text is not None else Path("/proc/stat").read_text()
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    return busy * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def container_sample(stat: cri.ContainerStats) -> ContainerSample | None:
    labels = stat.attributes.labels
    uid = labels.get("io.kubernetes.pod.uid")
    if not uid:
        return None
    return ContainerSample(
        pod_uid=uid,
        pod_name=labels.get("io.kubernetes.pod.name", ""),
        pod_namespace=labels.get("io.kubernetes.pod.namespace", ""),
        name=labels.get("io.kubernetes.container.name", stat.attributes.metadata.name),
        cpu_core_nanoseconds=int(stat.cpu.usage_core_nano_seconds.value),
        memory_working_set=int(stat.memory.working_set_bytes.value),
        memory_usage=int(stat.memory.usage_bytes.value),
        rootfs_used=int(stat.writable_layer.used_bytes.value),
    )
