"""Memory (PSS) of each daemon of a running one-node lab.

    sudo .venv/bin/python benchmarks/lab/daemon_memory.py [--settle 10] [--out PATH]

Brings up a fresh lab (`bm<id>`) with one node, lets it settle, then reads the proportional
set size (Pss in /proc/<pid>/smaps_rollup: shared pages divided among the processes sharing
them) of every daemon the lab supervises: the API server and controllers, and per node the
runtime, kubelet, kube-proxy and pod network agent, whatever pidfiles the lab has. The
daemon's descendants (conmon monitors, plugins) are summed apart. The lab is taken down at the
end, also on failure or Ctrl-C. Results go to `--out` in the common shape (benchmarks/schema.py).
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
from nodelab.lab.lab import Lab, lab_status, take_down_lab  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=default_out("daemon-memory"))
    options = parser.parse_args()
    name = "bm" + secrets.token_hex(2)
    rows: list[Row] = []
    try:
        Lab.up(name, 1, progress=lambda _m: None)
        time.sleep(options.settle)
        status = lab_status(name)
        tree = children()
        daemons = [(d.name, d.pid) for d in status.daemons]
        for node in status.nodes:
            daemons += [(d.name, d.pid) for d in node.daemons]
        for daemon, pid in daemons:
            if pid is None:
                rows.append({"daemon": daemon, "pss_kib": None, "note": "not running"})
                continue
            # the supervisor is every daemon's parent: its own memory only
            kids = [] if daemon == "supervisor" else descendants(pid, tree)
            rows.append({"daemon": daemon, "pid": pid, "pss_kib": smaps_kib(pid, "Pss"),
                         "rss_kib": smaps_kib(pid, "Rss"),
                         "descendants": len(kids),
                         "descendants_pss_kib": sum(smaps_kib(k, "Pss") for k in kids),
                         "note": f"+{sum(smaps_kib(k, 'Pss') for k in kids)} KiB in "
                                 f"{len(kids)} child processes" if kids else ""})
        total = sum(int(r["pss_kib"] or 0) for r in rows)
        rows.append({"daemon": "total", "pss_kib": total, "note": "daemons only"})
    finally:
        take_down_lab(name)
    write_results(options.out, "daemon-memory", {"nodes": 1, "settle_s": options.settle}, rows)
    for row in rows:
        print(f"{row['daemon']:<28} {row['pss_kib'] or 0:>8} KiB  {row.get('note', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
