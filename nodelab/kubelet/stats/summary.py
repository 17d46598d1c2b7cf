"""The Summary API (`/stats/summary`, stats/v1alpha1 `Summary`) as a pure function of samples.

`summary(...)` takes what `sources.py` read (the node's cgroup, CRI `ListPodSandboxStats` /
`ListContainerStats`, the containers' log directories, the eviction signals' filesystem and
pid figures) and returns the document upstream's kubelet serves, with upstream's field names:

    node:  nodeName, startTime, cpu, memory, network, fs, runtime.imageFs, rlimit
    pods:  podRef, startTime, containers[], cpu, memory, network, ephemeral-storage,
           process_stats
    containers: name, startTime, cpu, memory, rootfs, logs

`cpu.usageNanoCores` is a rate, so it needs the previous sample of the same thing: the caller
keeps a `CpuRates` between calls (upstream's CRI stats provider keeps the same cache) and
the first sample of anything has no `usageNanoCores`, as upstream's CRI provider does.
`memory.availableBytes` is the limit minus the working set and is omitted without a limit
(upstream's definition); the node's limit is the machine's memory.

Absent, and why (docs/kubelet.md says it too): `node.systemContainers` (the node's daemons
run in no cgroup of their own), `swap` (lab nodes run without swap accounting),
`accelerators` and `userDefinedMetrics` (none exist), pod `volume` stats (no volume
type here has a filesystem of its own: emptyDir, configMap and the like live on the nodefs
and are counted in `ephemeral-storage` only through the containers' layers and logs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kubelet.eviction.thresholds import Observation
from nodelab.kubewire.times import from_nanoseconds


@dataclass(frozen=True)
class Memory:
    """Memory figures of a cgroup (None: not known)."""

    working_set: int | None = None
    usage: int | None = None
    rss: int | None = None
    page_faults: int | None = None
    major_page_faults: int | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Interface:
    name: str
    rx_bytes: int
    rx_errors: int
    tx_bytes: int
    tx_errors: int


@dataclass(frozen=True)
class ContainerSample:
    """One running container, read from CRI."""

    pod_uid: str
    pod_name: str
    pod_namespace: str
    name: str
    id: str
    start_ns: int
    at_ns: int
    cpu_core_nanoseconds: int
    memory: Memory
    rootfs_used: int | None = None
    rootfs_inodes_used: int | None = None
    logs_used: int | None = None


@dataclass(frozen=True)
class PodSample:
    """One pod sandbox, read from CRI (`ListPodSandboxStats`); containers come apart."""

    uid: str
    name: str
    namespace: str
    start_ns: int
    at_ns: int
    cpu_core_nanoseconds: int | None = None
    memory: Memory | None = None
    interfaces: tuple[Interface, ...] = ()
    process_count: int | None = None


@dataclass(frozen=True)
class NodeSample:
    """The node's own cgroup (its `cgroupRoot`) and network interfaces."""

    at_ns: int
    cpu_core_nanoseconds: int | None
    memory: Memory
    interfaces: tuple[Interface, ...] = ()


@dataclass
class CpuRates:
    """The previous (cumulative ns, sample time ns) of each thing, for `usageNanoCores`."""

    last: dict[str, tuple[int, int]] = field(default_factory=dict)

    def rate(self, key: str, cpu_ns: int, at_ns: int) -> int | None:
        previous = self.last.get(key)
        self.last[key] = (cpu_ns, at_ns)
        return nano_cores(previous, (cpu_ns, at_ns))

    def forget_all_but(self, keys: set[str]) -> None:
        for key in set(self.last) - keys:
            del self.last[key]


def nano_cores(previous: tuple[int, int] | None, current: tuple[int, int]) -> int | None:
    """CPU nanoseconds used per second between two (cumulative ns, time ns) samples.

    None without an earlier sample, or when the counter went back (a restarted container)
    or no time passed, as upstream's `getAndUpdateContainerUsageNanoCores`."""
    if previous is None:
        return None
    used, elapsed = current[0] - previous[0], current[1] - previous[1]
    if used < 0 or elapsed <= 0:
        return None
    return used * 1_000_000_000 // elapsed


def _set(block: dict[str, Any], **values: int | None) -> dict[str, Any]:
    block.update({k: v for k, v in values.items() if v is not None})
    return block


def cpu_block(time: str, cpu_ns: int | None, rate: int | None) -> dict[str, Any]:
    return _set({"time": time}, usageNanoCores=rate, usageCoreNanoSeconds=cpu_ns)


def memory_block(time: str, memory: Memory) -> dict[str, Any]:
    available = None
    if memory.limit is not None and memory.working_set is not None:
        available = max(0, memory.limit - memory.working_set)
    return _set({"time": time}, availableBytes=available, usageBytes=memory.usage,
                workingSetBytes=memory.working_set, rssBytes=memory.rss,
                pageFaults=memory.page_faults, majorPageFaults=memory.major_page_faults)


def network_block(time: str, interfaces: Sequence[Interface],
                  default: str = "eth0") -> dict[str, Any] | None:
    """NetworkStats: the default interface's counters inline, every interface listed."""
    if not interfaces:
        return None
    listed = [{"name": i.name, "rxBytes": i.rx_bytes, "rxErrors": i.rx_errors,
               "txBytes": i.tx_bytes, "txErrors": i.tx_errors} for i in interfaces]
    chosen = next((i for i in listed if i["name"] == default), listed[0])
    return {"time": time, **chosen, "interfaces": listed}


def fs_block(obs: Observation | None, inodes: Observation | None, time: str) -> dict[str, Any]:
    if obs is None:
        return {"time": time}
    block: dict[str, Any] = {
        "time": time, "availableBytes": obs.available, "capacityBytes": obs.capacity,
        "usedBytes": obs.capacity - obs.available,
    }
    if inodes is not None:
        block.update(inodesFree=inodes.available, inodes=inodes.capacity,
                     inodesUsed=inodes.capacity - inodes.available)
    return block


def _container(sample: ContainerSample, rates: CpuRates,
               nodefs: Observation | None) -> dict[str, Any]:
    time = from_nanoseconds(sample.at_ns)
    fs_common: dict[str, Any] = {"time": time}
    if nodefs is not None:
        fs_common.update(availableBytes=nodefs.available, capacityBytes=nodefs.capacity)
    block: dict[str, Any] = {
        "name": sample.name,
        "startTime": from_nanoseconds(sample.start_ns),
        "cpu": cpu_block(time, sample.cpu_core_nanoseconds,
                         rates.rate("container/" + sample.id, sample.cpu_core_nanoseconds,
                                    sample.at_ns)),
        "memory": memory_block(time, sample.memory),
        "rootfs": _set(dict(fs_common), usedBytes=sample.rootfs_used,
                       inodesUsed=sample.rootfs_inodes_used),
    }
    if sample.logs_used is not None:
        block["logs"] = _set(dict(fs_common), usedBytes=sample.logs_used)
    return block


def _sum(values: Sequence[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _pod(pod: PodSample, containers: Sequence[ContainerSample], rates: CpuRates,
         nodefs: Observation | None) -> dict[str, Any]:
    time = from_nanoseconds(pod.at_ns)
    cpu_ns = pod.cpu_core_nanoseconds
    if cpu_ns is None:
        cpu_ns = sum(c.cpu_core_nanoseconds for c in containers)
    memory = pod.memory or Memory(
        working_set=_sum([c.memory.working_set for c in containers]),
        usage=_sum([c.memory.usage for c in containers]),
        rss=_sum([c.memory.rss for c in containers]))
    block: dict[str, Any] = {
        "podRef": {"name": pod.name, "namespace": pod.namespace, "uid": pod.uid},
        "startTime": from_nanoseconds(pod.start_ns),
        "containers": [_container(c, rates, nodefs) for c in containers],
        "cpu": cpu_block(time, cpu_ns, rates.rate("pod/" + pod.uid, cpu_ns, pod.at_ns)),
        "memory": memory_block(time, memory),
    }
    network = network_block(time, pod.interfaces)
    if network is not None:
        block["network"] = network
    used = _sum([v for c in containers for v in (c.rootfs_used, c.logs_used)])
    if used is not None:
        storage: dict[str, Any] = {"time": time}
        if nodefs is not None:
            storage.update(availableBytes=nodefs.available, capacityBytes=nodefs.capacity)
        storage["usedBytes"] = used
        inodes = _sum([c.rootfs_inodes_used for c in containers])
        if inodes is not None:
            storage["inodesUsed"] = inodes
        block["ephemeral-storage"] = storage
    if pod.process_count is not None:
        block["process_stats"] = {"process_count": pod.process_count}
    return block


def group_by_pod(pods: Sequence[PodSample], containers: Sequence[ContainerSample]
                 ) -> list[tuple[PodSample, list[ContainerSample]]]:
    """Each pod with its containers (by name); a pod the runtime gave no stats of (a runtime
    without `ListPodSandboxStats`) is made from its containers."""
    by_pod: dict[str, list[ContainerSample]] = {}
    for container in containers:
        by_pod.setdefault(container.pod_uid, []).append(container)
    known = {p.uid for p in pods}
    every = list(pods) + [
        PodSample(uid, cs[0].pod_name, cs[0].pod_namespace, cs[0].start_ns, cs[0].at_ns)
        for uid, cs in by_pod.items() if uid not in known]
    return [(p, sorted(by_pod.get(p.uid, []), key=lambda c: c.name)) for p in every]


def summary(
    node_name: str,
    start_time: str,
    node: NodeSample,
    observed: Mapping[str, Observation],
    pods: Sequence[PodSample],
    containers: Sequence[ContainerSample],
    rates: CpuRates,
) -> dict[str, Any]:
    """The Summary document (times to the second, as `metav1.Time`)."""
    now = from_nanoseconds(node.at_ns)
    node_block: dict[str, Any] = {
        "nodeName": node_name,
        "startTime": start_time,
        "cpu": cpu_block(now, node.cpu_core_nanoseconds,
                         None if node.cpu_core_nanoseconds is None else
                         rates.rate("node", node.cpu_core_nanoseconds, node.at_ns)),
        "memory": memory_block(now, node.memory),
    }
    network = network_block(now, node.interfaces)
    if network is not None:
        node_block["network"] = network
    nodefs = observed.get("nodefs.available")
    node_block["fs"] = fs_block(nodefs, observed.get("nodefs.inodesFree"), now)
    node_block["runtime"] = {"imageFs": fs_block(observed.get("imagefs.available"),
                                                 observed.get("imagefs.inodesFree"), now)}
    pids = observed.get("pid.available")
    if pids is not None:
        node_block["rlimit"] = {"time": now, "maxpid": pids.capacity,
                                "curproc": pids.capacity - pids.available}
    grouped = group_by_pod(pods, containers)
    blocks = [_pod(p, cs, rates, nodefs) for p, cs in grouped]
    rates.forget_all_but({"node"} | {"pod/" + p.uid for p, _ in grouped}
                         | {"container/" + c.id for c in containers})
    return {"node": node_block, "pods": blocks}
