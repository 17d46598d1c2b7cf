"""Removing everything a runtime made, from its state dir alone (for `nodelab down`).

After `kill -9` of every lab process the CRI is gone, so the lab cannot ask the runtime to
remove its pods. `teardown_plan(state_dir)` reads what the runtime left on disk and lists what
exists on the host because of it:

- runc containers under `<state>/runc` (their monitors exit when they are killed);
- infra processes of shared-PID pods;
- mounts under the state dir (overlay rootfs, pinned ipc/uts namespaces);
- pod network namespaces named in sandbox records;
- cgroups named in container records, with their empty parents up to the cgroup root.

`apply_teardown(plan)` removes them in that order and tolerates anything already gone, so it can
run twice. CNI DEL is *not* run (the plugins' host-side state, like host-local's IP files,
lives under the lab's own dirs and goes with them; veth host ends vanish with the pod netns).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.host import mounts
from nodelab.host.commands import run
from nodelab.runtime import cgroups, namespaces


@dataclass
class TeardownPlan:
    runc_root: Path
    containers: list[str] = field(default_factory=list)
    infra_pids: list[int] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    netns: list[str] = field(default_factory=list)
    cgroups: list[tuple[str, str]] = field(default_factory=list)  # (path, stop at)


def _records(directory: Path) -> list[dict[str, object]]:
    found = []
    for path in sorted(directory.glob("*/record.json")):
        with contextlib.suppress(OSError, ValueError):
            found.append(json.loads(path.read_text()))
    return found


def teardown_plan(state_dir: Path, cgroup_root: str = "") -> TeardownPlan:
    """What to remove for the runtime whose `--state-dir` was `state_dir`."""
    state_dir = state_dir.resolve()
    plan = TeardownPlan(runc_root=state_dir / "runc")
    if plan.runc_root.is_dir():
        plan.containers = sorted(p.name for p in plan.runc_root.iterdir()
                                 if (p / "state.json").exists())
    for record in _records(state_dir / "sandboxes"):
        if record.get("infra_pid"):
            plan.infra_pids.append(int(str(record["infra_pid"])))
        if record.get("netns_name"):
            plan.netns.append(str(record["netns_name"]))
    for record in _records(state_dir / "containers"):
        if record.get("cgroups_path"):
            plan.cgroups.append((str(record["cgroups_path"]), cgroup_root))
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            target = line.split()[1].replace("\\040", " ")
            if target.startswith(str(state_dir) + "/"):
                plan.mounts.append(target)
    plan.mounts.sort(key=len, reverse=True)
    return plan


def apply_teardown(plan: TeardownPlan, runc: str = "runc") -> None:
    for container_id in plan.containers:
        run([runc, "--root", str(plan.runc_root), "delete", "--force", container_id],
            check=False)
    for pid in plan.infra_pids:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if cmdline.startswith(b"unshare\0--pid"):
                os.kill(pid, signal.SIGKILL)
    for target in plan.mounts:
        with contextlib.suppress(OSError):
            mounts.unmount(target)  # lazily, as `umount -l`
    for name in plan.netns:
        namespaces.delete_netns(name)
    for path, stop_at in plan.cgroups:
        stop = stop_at or os.path.dirname(path.rstrip("/"))
        cgroups.remove_empty(path, stop)
