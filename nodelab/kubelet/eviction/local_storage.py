"""Local storage eviction of emptyDir volumes (upstream's eviction manager,
localStorageEviction / emptyDirLimitEviction), as a pure decision.

Every eviction pass, before the node-pressure thresholds, each active non-critical pod's
disk-backed emptyDirs with a `sizeLimit` are measured (what `du` counts: allocated blocks); a
pod with one above its limit is evicted at once (grace 0) with upstream's message
`Usage of EmptyDir volume "v" exceeds the limit "1Mi". `. A `medium: Memory` emptyDir needs no
watch: its tmpfs is sized to the limit (`pods/volumes/empty_dir.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from nodelab.kube.objects import ObjectView
from nodelab.kube.quantities import parse_quantity

SIGNAL = "emptyDirFsLimit"  # upstream's metric label for these evictions
EMPTY_DIR_MESSAGE = 'Usage of EmptyDir volume "{name}" exceeds the limit "{limit}". '


def size_limit(source: ObjectView) -> int:
    """An emptyDir's `sizeLimit` in bytes (0: none)."""
    limit = source.get("sizeLimit")
    return parse_quantity(limit) if limit not in (None, "") else 0


def limited_empty_dirs(pod: ObjectView) -> list[str]:
    """The names of the pod's disk-backed emptyDirs that have a sizeLimit (what to measure)."""
    return [v["name"] for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("emptyDir") is not None and v["emptyDir"].get("medium") != "Memory"
            and size_limit(v["emptyDir"]) > 0]


def exceeded(pod: ObjectView, used: Mapping[str, int]) -> str:
    """The eviction message for the first limited emptyDir of `pod` whose usage is above its
    sizeLimit; "" when none is."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if volume["name"] in limited_empty_dirs({"spec": {"volumes": [volume]}}) \
                and used.get(volume["name"], 0) > size_limit(volume["emptyDir"]):
            return EMPTY_DIR_MESSAGE.format(name=volume["name"],
                                            limit=volume["emptyDir"]["sizeLimit"])
    return ""
