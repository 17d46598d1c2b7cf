"""The pod workers' settings, from the kubelet's configuration and the node's facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nodelab.kubelet.pods.backoff import BackoffSettings
from nodelab.kubelet.pods.dns import ResolvConf


@dataclass
class PodSettings:
    node_name: str
    node_ip: str
    state_dir: Path
    log_root: Path
    memory_capacity: int
    runtime_name: str = "nodelab"
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    node_resolv: ResolvConf = field(default_factory=ResolvConf)
    cgroup_root: str = "/"
    resync: float = 1.0
    allocatable: dict[str, int] = field(default_factory=dict)  # for resourceFieldRef
    allowed_unsafe_sysctls: tuple[str, ...] = ()
    idle_resync: float = 60.0  # a settled pod's resync, + jitter (upstream's syncFrequency)

    @property
    def backoff(self) -> BackoffSettings:
        return BackoffSettings(self.backoff_initial, self.backoff_max, self.backoff_reset,
                               self.resync)
