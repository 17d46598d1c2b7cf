"""Local storage eviction (upstream's eviction manager, localStorageEviction), as a pure decision.

Every eviction pass, before the node-pressure thresholds, each active non-critical pod is
checked in upstream's order, and the first check that fails evicts it at once (grace 0):

1. emptyDirLimitEviction: a disk-backed emptyDir above its `sizeLimit` (what `du` counts:
   allocated blocks) -> `Usage of EmptyDir volume "v" exceeds the limit "1Mi". `
   A `medium: Memory` emptyDir needs no watch: its tmpfs is sized to the limit
   (`pods/volumes/empty_dir.py`).
2. podEphemeralStorageLimitEviction: the pod's ephemeral storage (its containers' usage plus
   its disk-backed emptyDirs and configMap volumes) above its `ephemeral-storage` limit,
   upstream's `PodLimits`: the sum over the containers that set one (restartable init
   containers added, plain init containers as a floor, `spec.overhead` added) -> `Pod
   ephemeral local storage usage exceeds the total limit of containers 2Mi. `
3. containerEphemeralStorageLimitEviction: a container's usage (its writable layer plus its
   log files, upstream's `rootfs + logs` on a node without a dedicated image filesystem)
   above its own limit -> `Container c exceeded its local ephemeral storage limit "2Mi". `

A container the runtime reports no stats for (not running) counts as using nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.kube.objects import ObjectView
from nodelab.kube.quantities import format_quantity, parse_quantity

# upstream's metric labels for these evictions (eviction_manager.go)
SIGNAL = "emptydirfs.limit"
POD_SIGNAL = "ephemeralpodfs.limit"
CONTAINER_SIGNAL = "ephemeralcontainerfs.limit"
EMPTY_DIR_MESSAGE = 'Usage of EmptyDir volume "{name}" exceeds the limit "{limit}". '
POD_MESSAGE = "Pod ephemeral local storage usage exceeds the total limit of containers {limit}. "
CONTAINER_MESSAGE = 'Container {name} exceeded its local ephemeral storage limit "{limit}". '
RESOURCE = "ephemeral-storage"


@dataclass(frozen=True)
class PodStorage:
    """What one pod uses on the node's filesystem, in bytes: per measured emptyDir (by volume
    name) and per running container (by name: writable layer plus logs)."""

    volumes: Mapping[str, int] = field(default_factory=dict)
    containers: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Exceeded:
    """Why a pod is evicted: upstream's metric label and status/event message."""

    signal: str
    message: str


def size_limit(source: ObjectView) -> int:
    """An emptyDir's `sizeLimit` in bytes (0: none)."""
    limit = source.get("sizeLimit")
    return parse_quantity(limit) if limit not in (None, "") else 0


def _disk_empty_dirs(pod: ObjectView) -> list[ObjectView]:
    return [v for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("emptyDir") is not None and v["emptyDir"].get("medium") != "Memory"]


def limited_empty_dirs(pod: ObjectView) -> list[str]:
    """The names of the pod's disk-backed emptyDirs that have a sizeLimit."""
    return [v["name"] for v in _disk_empty_dirs(pod) if size_limit(v["emptyDir"]) > 0]


def _limit(container: ObjectView) -> str | None:
    """A container's `limits.ephemeral-storage` as written (None: not set)."""
    value = ((container.get("resources") or {}).get("limits") or {}).get(RESOURCE)
    return None if value in (None, "") else str(value)


def container_limits(pod: ObjectView) -> dict[str, str]:
    """The regular containers with a non-zero ephemeral-storage limit, name -> the limit as
    written (upstream's thresholdsMap)."""
    return {c["name"]: limit for c in (pod.get("spec") or {}).get("containers") or []
            if (limit := _limit(c)) is not None and parse_quantity(limit) != 0}


def pod_limit(pod: ObjectView) -> int | None:
    """The pod's ephemeral-storage limit in bytes, upstream's `PodLimits` (None: no container
    sets one, so the pod has none)."""
    spec = pod.get("spec") or {}
    found = False
    total = 0
    for container in spec.get("containers") or []:
        if (limit := _limit(container)) is not None:
            found, total = True, total + parse_quantity(limit)
    sidecars = init_floor = 0
    for container in spec.get("initContainers") or []:
        limit = _limit(container)
        value = parse_quantity(limit) if limit is not None else 0
        found = found or limit is not None
        if container.get("restartPolicy") == "Always":
            total += value
            sidecars += value
            init_floor = max(init_floor, sidecars)
        else:
            init_floor = max(init_floor, value + sidecars)
    if not found:
        return None
    total = max(total, init_floor)
    overhead = (spec.get("overhead") or {}).get(RESOURCE)
    return total + (parse_quantity(overhead) if overhead not in (None, "") else 0)


def _written(limit: object) -> str:
    """A limit as upstream's messages show it (`Quantity.String()`: `2048Ki` -> `2Mi`)."""
    return format_quantity(parse_quantity(str(limit)), str(limit))


def _first_limit(pod: ObjectView) -> str:
    """The first ephemeral-storage limit set, whose format upstream's sum keeps."""
    spec = pod.get("spec") or {}
    found = (_limit(c) for c in [*(spec.get("containers") or []),
                                 *(spec.get("initContainers") or [])])
    return next((limit for limit in found if limit is not None), "0")


def watched(pod: ObjectView) -> bool:
    """Whether the pod has anything local storage eviction checks."""
    return bool(limited_empty_dirs(pod)) or pod_limit(pod) is not None \
        or bool(container_limits(pod))


def _local_ephemeral(pod: ObjectView) -> list[ObjectView]:
    """The volumes whose files count in the pod's usage, upstream's IsLocalEphemeralVolume:
    disk-backed emptyDirs and configMaps (gitRepo, the third, is refused here)."""
    return [v for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("configMap") is not None
            or (v.get("emptyDir") is not None and v["emptyDir"].get("medium") != "Memory")]


def measured_volumes(pod: ObjectView) -> dict[str, str]:
    """The volumes to measure, name -> plugin ("emptyDir", "configMap"): the limited
    emptyDirs, and every local ephemeral volume when the pod has an ephemeral-storage limit
    (they count in its usage)."""
    if pod_limit(pod) is None:
        return {name: "emptyDir" for name in limited_empty_dirs(pod)}
    return {v["name"]: "configMap" if v.get("configMap") is not None else "emptyDir"
            for v in _local_ephemeral(pod)}


def exceeded(pod: ObjectView, used: Mapping[str, int]) -> str:
    """The eviction message for the first limited emptyDir of `pod` whose usage is above its
    sizeLimit; "" when none is."""
    limited = set(limited_empty_dirs(pod))
    for volume in _disk_empty_dirs(pod):
        if volume["name"] in limited and used.get(volume["name"], 0) > size_limit(
                volume["emptyDir"]):
            return EMPTY_DIR_MESSAGE.format(name=volume["name"],
                                            limit=_written(volume["emptyDir"]["sizeLimit"]))
    return ""


def pod_usage(pod: ObjectView, usage: PodStorage) -> int:
    """The pod's ephemeral storage: its containers' usage plus its local ephemeral volumes."""
    return sum(usage.containers.values()) + sum(
        usage.volumes.get(v["name"], 0) for v in _local_ephemeral(pod))


def local_storage_eviction(pod: ObjectView, usage: PodStorage) -> Exceeded | None:
    """Upstream's three checks in order; the first that fails says why `pod` is evicted."""
    message = exceeded(pod, usage.volumes)
    if message:
        return Exceeded(SIGNAL, message)
    limit = pod_limit(pod)
    if limit is not None and pod_usage(pod, usage) > limit:
        return Exceeded(POD_SIGNAL, POD_MESSAGE.format(
            limit=format_quantity(limit, _first_limit(pod))))
    limits = container_limits(pod)
    for name, used in usage.containers.items():
        if name in limits and used > parse_quantity(limits[name]):
            return Exceeded(CONTAINER_SIGNAL,
                            CONTAINER_MESSAGE.format(name=name, limit=_written(limits[name])))
    return None
