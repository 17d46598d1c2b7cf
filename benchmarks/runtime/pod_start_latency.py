"""Sandbox start and container create+start latency, and memory per running pod: nodelab's
runtime beside containerd, in the same run.

    sudo .venv/bin/python benchmarks/runtime/pod_start_latency.py [--pods 50] [--out PATH]

Both runtimes are started the way the test suite starts them (nodelab/lab/cri_harness/):
each inside its own node network namespace (`nlt<id>-node`), with the same
CNI conflist (reference bridge + host-local + portmap), pulling the same busybox image from a
local registry. Pods alternate between the two runtimes so host noise hits both alike. For
each pod the script times RunPodSandbox, then CreateContainer+StartContainer of one
`sleep 3600` container, and keeps it running. With all pods running it sums the proportional
set size (PSS, /proc/<pid>/smaps_rollup) of what the runtime adds per pod: the daemon itself,
the per-container monitors (conmon / containerd-shim-runc-v2) and, for containerd, the pause
processes; the workload's own `sleep` is the same on both sides and is left out. Memory per pod
= (total with N pods - daemon alone before) / N.

Results are printed and written in the common shape (benchmarks/schema.py) to `--out`, default
benchmarks/results/runtime-start-<timestamp>.json. Everything the script made is removed at
the end, also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.schema import default_out, write_results  # noqa: E402
from nodelab.cri import api_pb2 as cri  # noqa: E402
from nodelab.lab.cri_harness.containerd import containerd_endpoint, containerd_missing  # noqa: E402
from nodelab.lab.cri_harness.endpoint import Endpoint, nodelab_endpoint  # noqa: E402
from nodelab.lab.cri_harness.registry import local_registry, push_busybox  # noqa: E402
from nodelab.oci.image import ImageConfig  # noqa: E402


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def processes() -> Iterator[tuple[int, list[str]]]:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                argv = [a.decode(errors="replace") for a in
                        (proc / "cmdline").read_bytes().split(b"\0") if a]
                if argv:
                    yield int(proc.name), argv


def runtime_pids(endpoint: Endpoint) -> list[int]:
    """The daemon, its monitors and (containerd) its pause processes."""
    assert endpoint.runtime is not None
    pids = [endpoint.runtime.pid]
    monitors = []
    for pid, argv in processes():
        text = " ".join(argv)
        if endpoint.name == "nodelab" and argv[0].endswith("conmon") and \
                str(endpoint.state) in text:
            monitors.append(pid)
        if endpoint.name == "containerd" and argv[0].endswith("containerd-shim-runc-v2") and \
                str(endpoint.socket) in text:
            monitors.append(pid)
    pids += monitors
    if endpoint.name == "containerd":
        for pid, argv in processes():
            if argv[-2:] == ["sleep", "infinity"] and parent(pid) in monitors:
                pids.append(pid)
    return pids


def parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def start_pod(endpoint: Endpoint, index: int, logs: Path) -> tuple[float, float]:
    rt = endpoint.runtime_stub()
    name = f"bench-{index}"
    config = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name=name, namespace="bench", uid=f"uid-{index}"),
        hostname=name, log_directory=str(logs / name),
        linux=cri.LinuxPodSandboxConfig(cgroup_parent=f"{endpoint.cgroup_base}/{name}"))
    t0 = time.perf_counter()
    sandbox = rt.RunPodSandbox(cri.RunPodSandboxRequest(config=config), timeout=60).pod_sandbox_id
    t1 = time.perf_counter()
    container = cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name="sleep"), image=cri.ImageSpec(image=endpoint.image()),
        command=["sleep", "3600"], log_path="sleep/0.log")
    t2 = time.perf_counter()
    cid = rt.CreateContainer(cri.CreateContainerRequest(
        pod_sandbox_id=sandbox, config=container, sandbox_config=config), timeout=60).container_id
    rt.StartContainer(cri.StartContainerRequest(container_id=cid), timeout=60)
    t3 = time.perf_counter()
    return (t1 - t0) * 1000, (t3 - t2) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--out", type=Path, default=default_out("runtime-start"))
    options = parser.parse_args()
    reason = containerd_missing()
    if reason:
        print(f"note: {reason}; measuring nodelab alone")
    tmp = Path(tempfile.mkdtemp(prefix="nlbench-"))
    results: dict[str, Any] = {"pods": options.pods, "runtimes": {}}
    try:
        with contextlib.ExitStack() as stack:
            registry = stack.enter_context(local_registry(tmp / "registry"))
            push_busybox(registry)
            push_busybox(registry, "pause", config=ImageConfig(cmd=("sleep", "infinity")))
            endpoints = [stack.enter_context(nodelab_endpoint(tmp / "nodelab", registry))]
            if not reason:
                endpoints.append(stack.enter_context(containerd_endpoint(tmp / "containerd",
                                                                         registry)))
            samples: dict[str, dict[str, list[float]]] = {}
            baseline: dict[str, int] = {}
            for endpoint in endpoints:
                endpoint.image_stub().PullImage(cri.PullImageRequest(
                    image=cri.ImageSpec(image=endpoint.image())), timeout=120)
                # one warm-up pod each (pulls the pause image for containerd, warms caches)
                start_pod(endpoint, 9999, tmp / f"logs-{endpoint.name}")
                time.sleep(0.5)
                baseline[endpoint.name] = sum(pss_kib(p) for p in runtime_pids(endpoint))
                samples[endpoint.name] = {"sandbox_ms": [], "container_ms": []}
            for index in range(options.pods):
                for endpoint in endpoints:
                    sandbox_ms, container_ms = start_pod(endpoint, index,
                                                         tmp / f"logs-{endpoint.name}")
                    samples[endpoint.name]["sandbox_ms"].append(sandbox_ms)
                    samples[endpoint.name]["container_ms"].append(container_ms)
            time.sleep(1.0)
            for endpoint in endpoints:
                total = sum(pss_kib(p) for p in runtime_pids(endpoint))
                per_pod = (total - baseline[endpoint.name]) / options.pods
                entry = {
                    key: {"p50": round(percentile(values, 50), 1),
                          "p99": round(percentile(values, 99), 1)}
                    for key, values in samples[endpoint.name].items()
                }
                entry["memory_per_pod_kib"] = round(per_pod)
                results["runtimes"][endpoint.name] = entry
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'runtime':<12}{'sandbox p50':>13}{'p99':>9}{'ctr p50':>10}{'p99':>9}"
          f"{'KiB/pod':>10}")
    for name, entry in results["runtimes"].items():
        print(f"{name:<12}{entry['sandbox_ms']['p50']:>11.1f}ms{entry['sandbox_ms']['p99']:>7.1f}"
              f"ms{entry['container_ms']['p50']:>8.1f}ms{entry['container_ms']['p99']:>7.1f}ms"
              f"{entry['memory_per_pod_kib']:>10}")
    rows = [{"runtime": name,
             "sandbox_p50_ms": entry["sandbox_ms"]["p50"],
             "sandbox_p99_ms": entry["sandbox_ms"]["p99"],
             "container_p50_ms": entry["container_ms"]["p50"],
             "container_p99_ms": entry["container_ms"]["p99"],
             "memory_per_pod_kib": entry["memory_per_pod_kib"]}
            for name, entry in results["runtimes"].items()]
    write_results(options.out, "runtime-start", {"pods": options.pods}, rows)
    print(f"written to {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
