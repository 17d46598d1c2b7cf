"""Memory (PSS) of each daemon of a running one-node lab, idle and with pods running.

    sudo .venv/bin/python benchmarks/lab/daemon_memory.py [--settle 10] [--pods 30] [--out PATH]

Brings up a fresh lab (`bm<id>`) with one node, lets it settle, then reads the proportional
set size (Pss in /proc/<pid>/smaps_rollup: shared pages divided among the processes sharing
them) of every daemon the lab supervises: the API server and controllers, and per node the
runtime, kubelet, kube-proxy and pod network agent, whatever pidfiles the lab has. The
daemon's descendants (conmon monitors, plugins) are summed apart. Then `--pods` busybox pods
(`sleep 3600`) are created, and once all are Ready and the lab has settled again every daemon
is read a second time (`phase` "idle" and "<n> pods"). Each phase also gets two sums: one
node's four daemons and the control plane's three (API server, controllers, registry), the
figures issue #22's goals are about. The lab is taken down at the end, also on failure or
Ctrl-C. Results go to `--out` in the common shape (benchmarks/schema.py).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.schema import Row, default_out, write_results  # noqa: E402
from nodelab.kube.resources import path  # noqa: E402
from nodelab.kube.restclient import RestClient  # noqa: E402
from nodelab.lab.lab import Lab, lab_status, take_down_lab  # noqa: E402

NODE_DAEMONS = ("runtime", "kubelet", "podnet", "proxy")
CONTROL_PLANE = ("controlplane", "controllers", "registry")
LABEL = "nodelab.bench/daemon-memory"
READY_TIMEOUT = 180.0


def smaps_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(proc.name))
    return tree


def descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo += tree.get(child, [])
    return out


def measure(name: str, phase: str) -> list[Row]:
    """One row per daemon of lab `name` (and its descendants' sum), then the two group sums."""
    status = lab_status(name)
    tree = children()
    daemons = [(d.name, d.pid) for d in status.daemons]
    for node in status.nodes:
        daemons += [(d.name, d.pid) for d in node.daemons]
    rows: list[Row] = []
    for daemon, pid in daemons:
        if pid is None:
            rows.append({"phase": phase, "daemon": daemon, "pss_kib": None,
                         "note": "not running"})
            continue
        # the supervisor is every daemon's parent: its own memory only
        kids = [] if daemon == "supervisor" else descendants(pid, tree)
        kids_pss = sum(smaps_kib(k, "Pss") for k in kids)
        rows.append({"phase": phase, "daemon": daemon, "pid": pid,
                     "pss_kib": smaps_kib(pid, "Pss"), "rss_kib": smaps_kib(pid, "Rss"),
                     "descendants": len(kids), "descendants_pss_kib": kids_pss,
                     "note": f"+{kids_pss} KiB in {len(kids)} child processes" if kids else ""})
    node_rows = [r for r in rows if r["daemon"].split("/")[-1] in NODE_DAEMONS
                 and r["daemon"].startswith(f"{status.nodes[0].name}/")]
    plane_rows = [r for r in rows if r["daemon"] in CONTROL_PLANE]
    for label, group, goal in ((f"{status.nodes[0].name}: four daemons", node_rows, 120),
                               ("control plane: three daemons", plane_rows, 100)):
        rows.append({"phase": phase, "daemon": label,
                     "pss_kib": sum(int(r["pss_kib"] or 0) for r in group),
                     "note": f"goal <= {goal} MiB (issue #22)"})
    rows.append({"phase": phase, "daemon": "total",
                 "pss_kib": sum(int(r["pss_kib"] or 0) for r in rows[:len(daemons)]),
                 "note": "daemons only"})
    return rows


def run_pods(lab: Lab, count: int) -> None:
    """Create `count` busybox pods and wait until every one is Ready."""
    api = RestClient.from_kubeconfig(lab.kubeconfig)
    image = lab.images.ref("busybox")
    for i in range(count):
        api.request("POST", path("pods", "default"), {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"memory-{i}", "labels": {LABEL: "yes"}},
            "spec": {"terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": image,
                                     "command": ["sleep", "3600"]}]}})
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        listed = api.request("GET", path("pods", "default") + f"?labelSelector={LABEL}")
        ready = sum(1 for p in listed.get("items", [])
                    if any(c.get("type") == "Ready" and c.get("status") == "True"
                           for c in p.get("status", {}).get("conditions", [])))
        if ready == count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ready} of {count} pods Ready after {READY_TIMEOUT:.0f}s")
        time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--out", type=Path, default=default_out("daemon-memory"))
    options = parser.parse_args()
    name = "bm" + secrets.token_hex(2)
    rows: list[Row] = []
    try:
        lab = Lab.up(name, 1, progress=lambda _m: None)
        time.sleep(options.settle)
        rows += measure(name, "idle")
        if options.pods:
            run_pods(lab, options.pods)
            time.sleep(options.settle)
            rows += measure(name, f"{options.pods} pods")
    finally:
        take_down_lab(name)
    write_results(options.out, "daemon-memory",
                  {"nodes": 1, "settle_s": options.settle, "pods": options.pods}, rows)
    for row in rows:
        print(f"{row['phase']:<8} {row['daemon']:<32} {row['pss_kib'] or 0:>8} KiB  "
              f"{row.get('note', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
