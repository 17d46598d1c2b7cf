"""CgroupView on a real cgroup made for the test under `nodelab/nlw<id>` (v1 or v2), with a
busy process held to a CPU quota and a memory hog that the kernel OOM-kills."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.host.cgroup_stats import read_cgroup_stats, v1_mount
from nodelab.host.cgroups import CGROUP_ROOT, cgroup_version, remove_group_tree
from nodelab.widgets.cgroup_view import CgroupView
from tests.widgets.conftest import privileged, wait_for

pytestmark = [*privileged, pytest.mark.slow]

LIMIT = 32 << 20


def group_dirs(relative: str) -> list[Path]:
    if cgroup_version() == 2:
        return [CGROUP_ROOT / relative]
    mounts = {v1_mount(c) for c in ("memory", "cpu", "cpuacct")}
    return [m / relative for m in mounts if m is not None]


def enter(dirs: list[Path]) -> str:
    """Shell words that move the shell itself into every directory of the group."""
    return "; ".join(f"echo $$ > {d}/cgroup.procs" for d in dirs)


@pytest.fixture
def group() -> Iterator[str]:
    relative = f"nodelab/nlw{secrets.token_hex(3)}"
    dirs = group_dirs(relative)
    try:
        if cgroup_version() == 2:
            parent = CGROUP_ROOT / "nodelab"
            parent.mkdir(exist_ok=True)
            (parent / "cgroup.subtree_control").write_text("+memory +cpu")
        for d in dirs:
            d.mkdir(parents=True)
        if cgroup_version() == 2:
            (dirs[0] / "memory.max").write_text(str(LIMIT))
            (dirs[0] / "memory.swap.max").write_text("0")
            (dirs[0] / "cpu.max").write_text("20000 100000")
        else:
            memory = next(d for d in dirs if (d / "memory.limit_in_bytes").exists())
            (memory / "memory.limit_in_bytes").write_text(str(LIMIT))
            if (memory / "memory.memsw.limit_in_bytes").exists():
                (memory / "memory.memsw.limit_in_bytes").write_text(str(LIMIT))
            cpu = next(d for d in dirs if (d / "cpu.cfs_quota_us").exists())
            (cpu / "cpu.cfs_quota_us").write_text("20000")
        yield relative
    finally:
        for d in dirs:
            remove_group_tree(d)


def test_stats_and_live_view_of_a_throttled_and_oom_killed_group(group: str) -> None:
    dirs = group_dirs(group)
    busy = subprocess.Popen(["sh", "-c", f"{enter(dirs)}; while :; do :; done"])
    view = CgroupView({"busy": group}, interval=0.2)
    try:
        assert wait_for(lambda: busy.pid in read_cgroup_stats(group).pids)
        stats = read_cgroup_stats(group)
        assert stats.exists and stats.memory_limit == LIMIT
        assert stats.cpu_quota_cores == pytest.approx(0.2)

        _ = view.widget
        view.start()

        def throttled() -> bool:
            samples = list(view.samples["busy"])
            return any((s.throttled_fraction or 0) > 0.5 for s in samples[-3:])

        assert wait_for(throttled), f"no throttling seen: {list(view.samples['busy'])[-3:]}"
        cores = [s.cpu_cores for s in view.samples["busy"] if s.cpu_cores is not None]
        assert cores and max(cores[-3:]) < 0.35, f"quota 0.2 cores, used {cores[-3:]}"
        assert "quota 0.20 cores" in view.body.value

        hog = subprocess.run(
            ["sh", "-c", f"{enter(dirs)}; exec {sys.executable} -c "
             "\"b = b'x' * (200 << 20); import time; time.sleep(3)\""],
            timeout=60,
        )
        assert hog.returncode == -9, "the kernel should have OOM-killed the hog"
        assert wait_for(lambda: view.oom_kills("busy") >= 1), "oom_kill counter not seen"
        assert wait_for(lambda: ">OOM</text>" in view.body.value), "no OOM marker drawn"
        assert "OOM kills 1" in view.static_html()
    finally:
        view.stop()
        busy.kill()
        busy.wait()
    assert not view.running
    assert os.path.isdir(dirs[0])
