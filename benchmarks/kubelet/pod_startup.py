"""Pod startup latency, create -> Ready with the image present, on a whole lab: nodelab's
runtime beside containerd as the node's CRI runtime, in the same run.

    sudo .venv/bin/python benchmarks/kubelet/pod_startup.py [--pods 30] [--fill 110]
        [--idle 30] [--out PATH]

Two one-node labs come up side by side, one per runtime (`Lab.up(..., runtime=...)`), so
everything but the runtime is the same: the embedded API server, the scheduler, nodelab's
kubelet, the pod network. A warm-up pod on each pulls the images (busybox, and containerd's
sandbox image) first. Then pods are created one at a time, alternating between the labs (and
which lab goes first each round) so host noise hits both alike. A pod is one `sleep 3600`
busybox container without probes; it stays running until the end.

Latency is what a client sees, as upstream's pod startup SLI: from just before the POST
(official Python client) to the moment a watch opened beforehand delivers the pod with
Ready=True (not the condition's lastTransitionTime, which has one-second resolution).
Goal (reported, not asserted): p99 < 1 s on this 2-core machine; upstream's SLO is 5 s.

Then, per lab in turn, the **burst**: the pods above are deleted, and the node is filled to
`--fill` pods (110, upstream's default maxPods, which the node reports as its `pods` capacity)
by creating every missing pod at once, back to back, each timed from its own POST to its Ready
event; the cluster DNS pod already on the node counts toward the 110 (the row's `post_span_s`:
first POST to last; `cores`: the machine's, for the floor in burst_floor.py). The burst's row has
the CPU milliseconds per pod of each node daemon with the processes it waited for
(`cpu_ms_per_pod`: runc, conmon, `ip`, CNI plugins), of each daemon alone
(`own_cpu_ms_per_pod`: what nodelab's code spent) and of the control plane's API server and
controllers (`control_plane_cpu_ms_per_pod`: they share the machine). With the node full, after
a settling pause, the **idle CPU** of the node's daemons (runtime, kubelet, podnet, proxy) is
measured over `--idle` seconds from /proc/<pid>/stat (all threads), beside the per-pod
processes the runtime leaves running (nodelab's conmon monitors, containerd's shims). The other
lab is idle meanwhile.

Writes `{"benchmark": "pod-startup", "params": {...}, "results": [{"runtime": ..., "phase":
"serial" | "burst", "n", "p50_s", "p99_s", "mean_s", "max_s"}, {"runtime", "phase": "idle",
"pods_on_node", "daemons_cpu_pct", ...}, ...]}` to `--out` (default
benchmarks/results/pod-startup-<UTC timestamp>.json) and prints a table. Both labs are taken
down at the end, also on failure, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kubernetes import client, config, watch  # noqa: E402

from benchmarks.percentiles import nearest_rank  # noqa: E402
from benchmarks.state_base import claimed_base  # noqa: E402
from nodelab.lab.lab import Lab, lab_status, take_down_lab  # noqa: E402

RUNTIMES = ("nodelab", "containerd")
LABEL = "nodelab.bench/pod-startup"
READY_TIMEOUT = 60.0
BURST_TIMEOUT = 300.0
NODE_DAEMONS = ("runtime", "kubelet", "podnet", "proxy")
CONTROL_PLANE = ("controlplane", "controllers")  # the API server; scheduler and controllers


def default_out() -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return ROOT / "benchmarks" / "results" / f"pod-startup-{stamp}.json"


def summary(runtime: str, samples: list[float], phase: str = "serial") -> dict[str, Any]:
    return {"runtime": runtime, "phase": phase, "n": len(samples),
            "p50_s": round(nearest_rank(samples, 0.50), 4),
            "p99_s": round(nearest_rank(samples, 0.99), 4),
            "mean_s": round(statistics.fmean(samples), 4),
            "max_s": round(max(samples), 4)}


class ReadyWatch:
    """Watches the lab's benchmark pods and records when each is first seen Ready."""

    def __init__(self, core: client.CoreV1Api) -> None:
        self.core = core
        self.seen: dict[str, float] = {}
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        listed = core.list_namespaced_pod("default", label_selector=LABEL)
        self.version = listed.metadata.resource_version
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._follow()
            except Exception:  # the lab going down ends the stream; else watch again
                if self.stopping.is_set():
                    return
                time.sleep(0.2)

    def _follow(self) -> None:
        stream = watch.Watch().stream(self.core.list_namespaced_pod, "default",  # type: ignore[no-untyped-call]
                                      label_selector=LABEL, resource_version=self.version,
                                      timeout_seconds=30, allow_watch_bookmarks=False)
        for event in stream:
            pod = event["object"]
            self.version = pod.metadata.resource_version
            ready = any(c.type == "Ready" and c.status == "True"
                        for c in (pod.status.conditions or []))
            if ready and pod.metadata.name not in self.seen:
                with self.changed:
                    self.seen[pod.metadata.name] = time.monotonic()
                    self.changed.notify_all()
            if self.stopping.is_set():
                return

    def wait_ready(self, name: str, timeout: float = READY_TIMEOUT) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: name in self.seen, timeout):
                raise TimeoutError(f"pod {name} was not Ready after {timeout:.0f}s")
            return self.seen[name]


def pod(name: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {LABEL: "yes"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": image,
                                     "command": ["sleep", "3600"]}]}}


class Bench:
    """One lab, its client and its Ready watch."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.core = client.CoreV1Api(config.new_client_from_config(str(lab.kubeconfig)))  # type: ignore[no-untyped-call]
        self.watch = ReadyWatch(self.core)
        self.image = lab.images.ref("busybox")
        self.post_span_s = 0.0  # the last burst's first POST to its last

    def start_one(self, name: str) -> float:
        """Seconds from the POST to a watch event with the pod Ready."""
        started = time.monotonic()
        self.core.create_namespaced_pod("default", pod(name, self.image))
        return self.watch.wait_ready(name) - started


    def pods_on_node(self) -> int:
        node = self.lab.topology.nodes[0].name
        listed = self.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}")
        return sum(1 for p in listed.items if p.status.phase not in ("Succeeded", "Failed"))

    def capacity(self) -> int:
        node = self.core.read_node(self.lab.topology.nodes[0].name)
        return int(node.status.capacity["pods"])

    def delete_benchmark_pods(self) -> None:
        self.core.delete_collection_namespaced_pod("default", label_selector=LABEL,
                                                   grace_period_seconds=0)
        deadline = time.monotonic() + READY_TIMEOUT
        while self.core.list_namespaced_pod("default", label_selector=LABEL).items:
            if time.monotonic() > deadline:
                raise TimeoutError("the serial phase's pods were not gone after 60s")
            time.sleep(0.2)

    def burst(self, fill: int) -> tuple[list[float], int]:
        """Create the pods missing to `fill` at once; each one's seconds from POST to Ready."""
        count = fill - self.pods_on_node()
        started: dict[str, float] = {}
        for i in range(count):
            name = f"burst-{i}"
            started[name] = time.monotonic()
            self.core.create_namespaced_pod("default", pod(name, self.image))
        self.post_span_s = max(started.values()) - min(started.values()) if started else 0.0
        return ([self.watch.wait_ready(name, BURST_TIMEOUT) - began
                 for name, began in started.items()], count)


def cpu_ticks(pid: int, children: bool = False) -> int:
    """utime + stime of a process, all its threads, in clock ticks (0 if it is gone); with
    `children`, plus what its waited-for children used (runc, ip, iptables... it started)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15 if children else 13])
    return 0


def node_daemons(lab: Lab, base: Path) -> dict[str, int]:
    status = lab_status(lab.name, base)
    return {d.name.split("/")[-1]: d.pid for d in status.nodes[0].daemons
            if d.pid and d.name.split("/")[-1] in NODE_DAEMONS}


def control_plane(lab: Lab, base: Path) -> dict[str, int]:
    return {d.name: d.pid for d in lab_status(lab.name, base).daemons
            if d.pid and d.name in CONTROL_PLANE}


def per_pod_ms(pids: dict[str, int], before: dict[str, int], count: int,
               children: bool = True) -> dict[str, float]:
    """CPU milliseconds per pod each process spent since `before` (with `children`: and the
    processes it started and waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    return {name: round(1000.0 * (cpu_ticks(pid, children) - before[name]) / tick / count, 1)
            for name, pid in pids.items()}


def pod_helpers(state_dir: Path, daemons: set[int]) -> list[int]:
    """The per-pod processes the runtime starts and leaves running (nodelab's conmon monitors,
    containerd's shims): their command lines name the lab's state dir, and they are no daemon."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) not in daemons:
            with contextlib.suppress(OSError):
                if str(state_dir).encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
    return found


def idle_cpu(runtime: str, lab: Lab, base: Path, pods: int, seconds: float) -> dict[str, Any]:
    """CPU of the node's daemons over `seconds`, as a percentage of one core."""
    status = lab_status(lab.name, base)
    pids = node_daemons(lab, base)
    every_daemon = {d.pid for d in (*status.daemons, *status.nodes[0].daemons) if d.pid}
    monitors = pod_helpers(Path(status.state_dir), every_daemon)
    before = {name: cpu_ticks(pid) for name, pid in pids.items()}
    monitors_before = sum(cpu_ticks(pid) for pid in monitors)
    time.sleep(seconds)
    tick = os.sysconf("SC_CLK_TCK")
    per_daemon = {name: round(100.0 * (cpu_ticks(pid) - before[name]) / tick / seconds, 2)
                  for name, pid in pids.items()}
    monitors_pct = 100.0 * (sum(cpu_ticks(pid) for pid in monitors) - monitors_before)
    return {"runtime": runtime, "phase": "idle", "pods_on_node": pods, "seconds": seconds,
            "daemons_cpu_pct": round(sum(per_daemon.values()), 2), "per_daemon": per_daemon,
            "monitors": len(monitors),
            "monitors_cpu_pct": round(monitors_pct / tick / seconds, 2)}


@contextmanager
def labs(base: Path, runtimes: tuple[str, ...]) -> Iterator[dict[str, Lab]]:
    made: list[str] = []
    owner = os.getpid()
    try:
        found: dict[str, Lab] = {}
        for runtime in runtimes:
            name = "b" + secrets.token_hex(3)[:5]
            made.append(name)
            print(f"bringing up lab {name} with the {runtime} runtime", file=sys.stderr)
            found[runtime] = Lab.up(name, 1, runtime=runtime, base=base,
                                    progress=lambda _m: None)
        yield found
    finally:
        if os.getpid() != owner:  # a child forked for netlink work, unwinding: not its labs
            os._exit(1)
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second stop must not cut cleanup
            signal.signal(signum, signal.SIG_IGN)
        for name in made:
            print(f"taking lab {name} down", file=sys.stderr)
            try:
                take_down_lab(name, base)
            except Exception as exc:  # go on with the other lab; say what to run by hand
                print(f"taking lab {name} down failed: {exc} (run `NODELAB_STATE_DIR={base} "
                      f"nodelab down --name {name}`)", file=sys.stderr)


def run(pods: int, fill: int, idle: float, out: Path,
        runtimes: tuple[str, ...] = RUNTIMES) -> list[dict[str, Any]]:
    with claimed_base() as base:  # noqa: SIM117 (the claim outlives the labs: kept if one stays)
        with labs(base, runtimes) as up:
            benches = {runtime: Bench(lab) for runtime, lab in up.items()}
            for runtime, bench in benches.items():
                warm = bench.start_one("warm-up")
                print(f"  warm-up pod on {runtime}: {warm:.2f}s (pulls the images)",
                      file=sys.stderr)
            samples: dict[str, list[float]] = {runtime: [] for runtime in runtimes}
            try:
                for i in range(pods):
                    order = runtimes if i % 2 == 0 else tuple(reversed(runtimes))
                    for runtime in order:
                        samples[runtime].append(benches[runtime].start_one(f"startup-{i}"))
                rows = [summary(runtime, samples[runtime]) for runtime in runtimes if pods]
                write(out, pods, fill, idle, rows)
                for runtime in runtimes if fill else ():
                    bench = benches[runtime]
                    bench.delete_benchmark_pods()
                    print(f"  burst on {runtime}: filling the node to {fill} pods "
                          f"(capacity {bench.capacity()})", file=sys.stderr)
                    pids = node_daemons(bench.lab, base)
                    api = control_plane(bench.lab, base)
                    before = {name: cpu_ticks(pid, children=True) for name, pid in pids.items()}
                    own = {name: cpu_ticks(pid) for name, pid in pids.items()}
                    api_before = {name: cpu_ticks(pid, children=True) for name, pid in api.items()}
                    latencies, count = bench.burst(fill)
                    rows.append({**summary(runtime, latencies, "burst"),
                                 "pods_on_node": bench.pods_on_node(),
                                 "post_span_s": bench.post_span_s, "cores": os.cpu_count() or 1,
                                 "cpu_ms_per_pod": per_pod_ms(pids, before, count),
                                 "own_cpu_ms_per_pod": per_pod_ms(pids, own, count, False),
                                 "control_plane_cpu_ms_per_pod": per_pod_ms(api, api_before,
                                                                            count)})
                    write(out, pods, fill, idle, rows)
                    time.sleep(10)  # let the last status updates and probes settle
                    rows.append(idle_cpu(runtime, bench.lab, base, bench.pods_on_node(), idle))
                    write(out, pods, fill, idle, rows)
                    print(f"  {count} pods at once on {runtime}: p99 "
                          f"{rows[-2]['p99_s']:.2f}s; idle daemons "
                          f"{rows[-1]['daemons_cpu_pct']:.1f}% of a core", file=sys.stderr)
            finally:
                for bench in benches.values():
                    bench.watch.stopping.set()
    return rows


def write(out: Path, pods: int, fill: int, idle: float, rows: list[dict[str, Any]]) -> None:
    """Written after each phase, so a run stopped at its budget keeps what it measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "pod-startup",
                               "params": {"pods": pods, "fill": fill, "idle_s": idle},
                               "results": rows}, indent=2) + "\n")


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'runtime':<11} {'phase':<7} {'n':>3} {'p50 s':>7} {'p99 s':>7} {'mean s':>7} "
             f"{'max s':>7}"]
    for row in rows:
        if row["phase"] == "idle":
            lines.append(f"{row['runtime']:<11} idle    {row['pods_on_node']:>3} pods: daemons "
                         f"{row['daemons_cpu_pct']:.1f}% of a core {row['per_daemon']}, "
                         f"{row['monitors']} monitors {row['monitors_cpu_pct']:.1f}%")
            continue
        lines.append(f"{row['runtime']:<11} {row['phase']:<7} {row['n']:>3} {row['p50_s']:>7.3f} "
                     f"{row['p99_s']:>7.3f} {row['mean_s']:>7.3f} {row['max_s']:>7.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=30, help="pods per runtime (default 30)")
    parser.add_argument("--fill", type=int, default=110,
                        help="then fill the node to this many pods at once (default 110, "
                             "upstream's maxPods; 0: no burst)")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES),
                        help="which labs (default nodelab,containerd: the reference in the same "
                             "run; one alone is for profiling, not for the report)")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="seconds the full node's idle CPU is measured (default 30)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default benchmarks/results/pod-startup-<UTC>.json)")
    options = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("pod_startup: needs root (it brings two labs up)", file=sys.stderr)
        return 2
    if shutil.which("containerd") is None:
        print("pod_startup: needs containerd (apt-get install containerd)", file=sys.stderr)
        return 2

    main_pid = os.getpid()

    def stop(signum: int, _frame: object) -> None:
        if os.getpid() != main_pid:  # a child forked for netlink work inherits this handler
            os._exit(128 + signum)
        raise SystemExit(128 + signum)  # unwinds through the labs' teardown

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # the benchmark runner stops a script with SIGINT
    out = options.out or default_out()
    runtimes = tuple(r for r in options.runtimes.split(",") if r)
    unknown = sorted(set(runtimes) - set(RUNTIMES))
    if unknown or not runtimes:
        parser.error(f"--runtimes: {', '.join(unknown) or 'none'}; choose from "
                     f"{', '.join(RUNTIMES)}")
    rows = run(options.pods, options.fill, options.idle, out, runtimes)
    print(table(rows))
    print("goal: p99 < 1 s on this machine (upstream's SLO: 5 s); a full node's daemons idle "
          "at <= 10% of one core")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
