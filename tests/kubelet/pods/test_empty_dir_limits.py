"""emptyDir sizes: the tmpfs size of `medium: Memory` (pods/volumes/empty_dir.py, upstream's
calculateEmptyDirMemorySize) and the local storage eviction decision
(eviction/local_storage.py, upstream's emptyDirLimitEviction)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.eviction.local_storage import exceeded, limited_empty_dirs
from nodelab.kubelet.pods.volumes.empty_dir import disk_usage, memory_ceiling, tmpfs_size
from nodelab.kubelet.pods.volumes.pod_volumes import local_volume_usage

pytestmark = pytest.mark.unit
MI, GI = 1 << 20, 1 << 30


@pytest.mark.parametrize(("allocatable", "pod_limit", "expected"), [
    (8 * GI, None, 8 * GI),  # no pod limit: what all pods may use
    (8 * GI, 256 * MI, 256 * MI),
    (8 * GI, 16 * GI, 8 * GI),  # a limit above allocatable does not raise it
])
def test_memory_ceiling(allocatable: int, pod_limit: int | None, expected: int) -> None:
    assert memory_ceiling(allocatable, pod_limit) == expected


@pytest.mark.parametrize(("source", "ceiling", "expected"), [
    ({"medium": "Memory"}, 256 * MI, 256 * MI),
    ({"medium": "Memory", "sizeLimit": "64Mi"}, 256 * MI, 64 * MI),
    ({"medium": "Memory", "sizeLimit": "1Gi"}, 256 * MI, 256 * MI),  # the pod's limit wins
    ({"medium": "Memory", "sizeLimit": "0"}, 256 * MI, 256 * MI),
    ({"medium": "Memory"}, 0, 0),  # nothing known: the kernel's default
])
def test_tmpfs_size(source: dict[str, Any], ceiling: int, expected: int) -> None:
    assert tmpfs_size(source, ceiling) == expected


def pod(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "p", "uid": "u1"}, "spec": {"volumes": list(volumes)}}


LIMITED = {"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}
MEMORY = {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}
PLAIN = {"name": "plain", "emptyDir": {}}


@pytest.mark.parametrize(("volumes", "used", "message"), [
    ([LIMITED], {"scratch": MI}, ""),  # at the limit: not above it
    ([LIMITED], {"scratch": MI + 4096},
     'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". '),
    ([MEMORY, PLAIN], {"mem": 5 * MI, "plain": 5 * MI}, ""),  # tmpfs-sized / unlimited
    ([PLAIN, LIMITED], {}, ""),
    ([{"name": "k", "emptyDir": {"sizeLimit": "1024Ki"}}], {"k": 2 * MI},
     'Usage of EmptyDir volume "k" exceeds the limit "1Mi". '),  # upstream's size.String()
])
def test_exceeded(volumes: list[dict[str, Any]], used: dict[str, int], message: str) -> None:
    assert exceeded(pod(*volumes), used) == message


def test_only_limited_disk_backed_ones_are_measured(tmp_path: Path) -> None:
    assert limited_empty_dirs(pod(LIMITED, MEMORY, PLAIN, {"name": "h", "hostPath": {}})) == [
        "scratch"]
    scratch = tmp_path / "pods" / "u1" / "volumes" / "emptyDir" / "scratch"
    (scratch / "sub").mkdir(parents=True)
    (scratch / "sub" / "data").write_bytes(b"x" * (2 * MI))
    (scratch / "link").symlink_to("/usr")  # not followed
    usage = local_volume_usage(tmp_path, pod(LIMITED, PLAIN))
    assert set(usage) == {"scratch"} and 2 * MI <= usage["scratch"] < 3 * MI
    assert disk_usage(tmp_path / "missing") == 0
