"""The kubelet's stats provider: samples the node, its pods and containers, and serves them as
`/stats/summary` and `/metrics/resource` (upstream's `stats.Provider` + the resource collector).

It keeps the previous CPU figures (`CpuRates`) between calls, so `usageNanoCores` is the rate
since the last call of either endpoint (upstream's CRI provider keeps the same cache).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.eviction.thresholds import Observation
from nodelab.kubelet.stats import resource_metrics, sources
from nodelab.kubelet.stats.summary import (
    ContainerSample,
    CpuRates,
    NodeSample,
    PodSample,
    summary,
)

log = logging.getLogger("nodelab.kubelet")


class StatsProvider:
    def __init__(self, node_name: str, started_at: str, cri: CRIClient, cgroup_root: str,
                 log_root: Path, memory_capacity: Callable[[], int],
                 observed: Callable[[], Mapping[str, Observation]]) -> None:
        self.node_name = node_name
        self.started_at = started_at
        self.cri = cri
        self.cgroup_root = cgroup_root
        self.log_root = log_root
        self.memory_capacity = memory_capacity
        self.observed = observed
        self.rates = CpuRates()
        self._lock = threading.Lock()

    def _sample(self) -> tuple[NodeSample, list[PodSample], list[ContainerSample], bool]:
        node = sources.node_sample(self.cgroup_root, self.memory_capacity())
        try:
            containers = sources.container_samples(self.cri, self.log_root)
        except CRIError as exc:
            log.warning("no container stats: %s", exc)
            return node, [], [], True
        return node, sources.pod_samples(self.cri), containers, False

    def summary(self) -> dict[str, Any]:
        node, pods, containers, _ = self._sample()
        with self._lock:
            return summary(self.node_name, self.started_at, node, self.observed(), pods,
                           containers, self.rates)

    def resource_metrics(self) -> str:
        node, pods, containers, failed = self._sample()
        return resource_metrics.render(resource_metrics.samples(node, pods, containers), failed)
