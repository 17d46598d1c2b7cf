"""The burst's floor: the CPU that `runc` alone spends on each container, and what that means
for a burst of pods on this machine's cores.

Whatever a node's daemons cost, every pod of the burst starts one container through
`runc create` + `runc start` (nodelab's sandboxes pin their namespaces without a pause
container; containerd's add a pause container, a second runc run), and the container's end
costs a `runc delete` later. This measures the three commands on a one-file busybox bundle,
one container at a time, as the CPU (user + system) of the reaped `runc` processes
(`RUSAGE_CHILDREN`): a lower bound, as the container's own `runc init` is not reaped by them.

With `cores` CPUs and nothing else running, the k-th pod to be Ready cannot be Ready before
`k x runc_cpu / cores` after the first POST, and every pod was posted within the burst's POST
span, so at least n - k + 1 pods take `k x runc_cpu / cores - span` or longer: the burst's
p99 (nearest rank q) can be no lower than `q x runc_cpu / cores - span` (`p99_floor_s`),
whatever nodelab's code does.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.percentiles import nearest_rank


def p99_floor_s(pods: int, runc_cpu_ms: float, cores: int, post_span_s: float = 0.0) -> float:
    """The shortest create -> Ready the pod at the 99th percentile (nearest rank) of `pods`
    posted within `post_span_s` can have, if each costs `runc_cpu_ms` of CPU and the machine's
    `cores` do nothing else."""
    if pods <= 0 or cores <= 0:
        return 0.0
    rank = nearest_rank(list(range(1, pods + 1)), 0.99)
    return max(0.0, rank * runc_cpu_ms / 1000.0 / cores - post_span_s)


def _bundle(directory: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("the floor needs a busybox binary (apt-get install busybox-static)")
    (directory / "rootfs" / "bin").mkdir(parents=True)
    shutil.copy(busybox, directory / "rootfs" / "bin" / "busybox")
    (directory / "rootfs" / "bin" / "true").symlink_to("busybox")
    subprocess.run(["runc", "spec"], cwd=directory, check=True)
    spec = json.loads((directory / "config.json").read_text())
    spec["process"]["args"] = ["/bin/true"]
    spec["process"]["terminal"] = False
    (directory / "config.json").write_text(json.dumps(spec))


def runc_cpu_ms(containers: int = 20) -> float:
    """The median over `containers` runs of the CPU milliseconds of `runc create`, `runc start`
    and `runc delete` of one container (their reaped processes)."""
    directory = Path(tempfile.mkdtemp(prefix="nlbench-runc-"))
    samples: list[float] = []
    try:
        _bundle(directory)
        for index in range(containers):
            name = f"nlbench-floor-{os.getpid()}-{index}"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            try:
                subprocess.run(["runc", "create", name], cwd=directory, check=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                subprocess.run(["runc", "start", name], cwd=directory, check=True)
            finally:
                subprocess.run(["runc", "delete", "--force", name], cwd=directory,
                               stderr=subprocess.DEVNULL, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            samples.append((after.ru_utime - before.ru_utime + after.ru_stime
                            - before.ru_stime) * 1000.0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return nearest_rank(samples, 0.5)


def floor_row(pods: int, cpu_ms: float, cores: int, post_span_s: float) -> dict[str, Any]:
    """The results row for a burst of `pods` posted within `post_span_s`: runc's CPU per
    container and the p99 floor."""
    return {"runtime": "runc alone", "phase": "floor", "n": pods, "runc_cpu_ms": cpu_ms,
            "cores": cores, "post_span_s": post_span_s,
            "p99_floor_s": p99_floor_s(pods, cpu_ms, cores, post_span_s)}
