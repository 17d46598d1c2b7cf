"""Reading the samples behind `/stats/summary` and `/metrics/resource` (the thin, reading side).

- the node: its own cgroup (`cgroupRoot`, `nodelab/<lab>/<node>` in a lab: the cgroup every
  pod of the node lives under, as a kind node's cgroup namespace root is for its kubelet; the
  host's root cgroup for a kubelet at `/`), read by `nodelab.host.cgroup_stats`, and the
  node network namespace's interfaces (/proc/net/dev, the kubelet runs inside it);
- pods: CRI `ListPodSandboxStats` (the runtime reads each pod's cgroups and its netns), ready
  sandboxes only, as upstream's CRI stats provider; a runtime without it (UNIMPLEMENTED)
  leaves the pod figures to the sums of their containers;
- containers: CRI `ListContainerStats` (running containers), their `createdAt` from
  `ListContainers` as upstream's `startTime`, and their log directory's size.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from nodelab.cri import api_pb2 as cri
from nodelab.host.cgroup_stats import read_cgroup_stats
from nodelab.kubelet.cri import CRIClient, CRIError
from nodelab.kubelet.stats.summary import (
    ContainerSample,
    Interface,
    Memory,
    NodeSample,
    PodSample,
)

log = logging.getLogger("nodelab.kubelet")

CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}
_LOOPBACK = "lo"


def cpu_core_nanoseconds(stat_text: str | None = None) -> int:
    """CPU time used by the whole machine since boot (all but idle and iowait), in ns."""
    text = stat_text if stat_text is not None else Path("/proc/stat").read_text()
    fields = [int(v) for v in text.splitlines()[0].split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
    return busy * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


def parse_net_dev(text: str) -> tuple[Interface, ...]:
    """The interfaces of /proc/net/dev (loopback left out, as cAdvisor leaves it out)."""
    found = []
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = counters.split()
        if name.strip() == _LOOPBACK or len(values) < 11:
            continue
        found.append(Interface(name.strip(), int(values[0]), int(values[2]), int(values[8]),
                               int(values[10])))
    return tuple(found)


def node_sample(cgroup_root: str, memory_capacity: int) -> NodeSample:
    """The node's cgroup and interfaces now; the limit is the machine's memory."""
    stats = read_cgroup_stats(cgroup_root)
    cpu = stats.cpu_usage_ns
    if cpu is None and cgroup_root.strip("/") == "":
        cpu = cpu_core_nanoseconds()  # no cpu accounting at the root: the machine's /proc/stat
    memory = Memory(working_set=stats.memory_working_set, usage=stats.memory_bytes,
                    rss=stats.memory_rss, page_faults=stats.page_faults,
                    major_page_faults=stats.major_page_faults,
                    limit=stats.memory_limit or memory_capacity)
    try:
        interfaces = parse_net_dev(Path("/proc/net/dev").read_text())
    except OSError:
        interfaces = ()
    return NodeSample(time.time_ns(), cpu, memory, interfaces)


def _memory(stats: cri.MemoryUsage) -> Memory:
    available = int(stats.available_bytes.value) if stats.HasField("available_bytes") else None
    working_set = int(stats.working_set_bytes.value)
    return Memory(working_set=working_set, usage=int(stats.usage_bytes.value),
                  rss=int(stats.rss_bytes.value), page_faults=int(stats.page_faults.value),
                  major_page_faults=int(stats.major_page_faults.value),
                  limit=None if available is None else available + working_set)


def pod_samples(client: CRIClient) -> list[PodSample]:
    """Ready sandboxes' stats (empty if the runtime has no ListPodSandboxStats)."""
    try:
        listed = client.list_pod_sandbox_stats()
        sandboxes = {s.id: s for s in client.list_pod_sandboxes()}
    except CRIError as exc:
        log.debug("no pod sandbox stats (%s): pod figures are the sums of containers", exc)
        return []
    found = []
    for stat in listed:
        sandbox = sandboxes.get(stat.attributes.id)
        if sandbox is None or sandbox.state != cri.SANDBOX_READY:
            continue
        meta, linux = stat.attributes.metadata, stat.linux
        network = linux.network.default_interface
        interfaces = (Interface(network.name, int(network.rx_bytes.value),
                                int(network.rx_errors.value), int(network.tx_bytes.value),
                                int(network.tx_errors.value)),) if network.name else ()
        found.append(PodSample(
            uid=meta.uid, name=meta.name, namespace=meta.namespace,
            start_ns=int(sandbox.created_at), at_ns=int(linux.cpu.timestamp) or time.time_ns(),
            cpu_core_nanoseconds=int(linux.cpu.usage_core_nano_seconds.value),
            memory=_memory(linux.memory), interfaces=interfaces,
            process_count=int(linux.process.process_count.value)
            if linux.HasField("process") else None))
    return found


def _directory_bytes(path: Path) -> int | None:
    try:
        return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    except OSError:
        return None


def container_sample(stat: cri.ContainerStats, created_ns: int,
                     log_root: Path | None = None) -> ContainerSample | None:
    labels = stat.attributes.labels
    uid = labels.get("io.kubernetes.pod.uid")
    if not uid:
        return None
    name = labels.get("io.kubernetes.container.name", stat.attributes.metadata.name)
    namespace = labels.get("io.kubernetes.pod.namespace", "")
    pod = labels.get("io.kubernetes.pod.name", "")
    logs = None
    if log_root is not None:
        logs = _directory_bytes(log_root / f"{namespace}_{pod}_{uid}" / name)
    layer = stat.writable_layer
    return ContainerSample(
        pod_uid=uid, pod_name=pod, pod_namespace=namespace, name=name,
        id=stat.attributes.id, start_ns=created_ns,
        at_ns=int(stat.cpu.timestamp) or time.time_ns(),
        cpu_core_nanoseconds=int(stat.cpu.usage_core_nano_seconds.value),
        memory=_memory(stat.memory),
        rootfs_used=int(layer.used_bytes.value) if layer.HasField("used_bytes") else None,
        rootfs_inodes_used=int(layer.inodes_used.value)
        if layer.HasField("inodes_used") else None,
        logs_used=logs,
    )


def container_samples(client: CRIClient, log_root: Path | None) -> list[ContainerSample]:
    created = {c.id: int(c.created_at) for c in client.list_containers()}
    found = (container_sample(s, created.get(s.attributes.id, 0), log_root)
             for s in client.list_container_stats())
    return [s for s in found if s is not None]


def container_storage(client: CRIClient, log_root: Path | None) -> dict[str, dict[str, int]]:
    """pod uid -> container name -> bytes the running container uses on the node's filesystem:
    its writable layer plus its logs (upstream's `rootfs + logs`, what local storage eviction
    compares with `limits.ephemeral-storage`)."""
    usage: dict[str, dict[str, int]] = {}
    for sample in container_samples(client, log_root):
        usage.setdefault(sample.pod_uid, {})[sample.name] = \
            (sample.rootfs_used or 0) + (sample.logs_used or 0)
    return usage
