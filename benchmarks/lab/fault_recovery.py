"""Time to recover from kill -9 of each lab daemon, and of the supervisor.

    sudo .venv/bin/python benchmarks/lab/fault_recovery.py [--rounds 10] [--out PATH]

Brings up a fresh one-node lab (`bf<id>`) with a two-replica Deployment behind a Service,
then, `--rounds` times for each daemon: SIGKILL, and two times measured from the kill:
`restart_s`, until the supervisor runs a new process of it (for the supervisor itself: until
`nodelab up` has started a new one), and `recover_s`, until the lab works again (every daemon
running, the node Ready, both pods Ready, the Service answering from inside the node). The lab
is taken down at the end, also on failure or Ctrl-C. Results go to `--out` in the common shape
(benchmarks/schema.py); docs/reliability.md quotes their p50 and p99.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.schema import Row, default_out, write_results  # noqa: E402
from nodelab.lab.daemons import DaemonStatus  # noqa: E402
from nodelab.lab.lab import Lab, take_down_lab  # noqa: E402
from nodelab.lab.supervision.client import supervisor_process  # noqa: E402

DAEMONS = ("registry", "controllers", "controlplane", "node1/runtime", "node1/podnet",
           "node1/kubelet", "node1/proxy", "supervisor")
KUBECTL = str(Path(sys.executable).with_name("kubectl"))


def kubectl(lab: Lab, *args: str) -> str:
    return subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), *args],
                          capture_output=True, text=True, timeout=30).stdout


def daemon(lab: Lab, name: str) -> DaemonStatus:
    status = lab.status()
    return next(d for d in [*status.daemons, *(d for n in status.nodes for d in n.daemons)]
                if d.name == name)


def until(check: Callable[[], Any], timeout: float = 120.0) -> float:
    """Seconds (monotonic clock) at which `check` first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return time.monotonic()
        except Exception:  # noqa: BLE001 - the thing is recovering
            pass
        time.sleep(0.05)
    raise TimeoutError("the lab did not recover within 120 s")


def working(lab: Lab, cluster_ip: str) -> bool:
    if not lab.status().healthy:
        return False
    ready = kubectl(lab, "get", "node", "node1", "-o",
                    "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
    pods = kubectl(lab, "get", "pods", "-l", "app=web", "-o",
                   "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}").split()
    if ready != "True" or pods != ["True", "True"]:
        return False
    answer = subprocess.run(["ip", "netns", "exec", lab.topology.nodes[0].netns, "curl", "-s",
                             "-m", "2", f"http://{cluster_ip}/"], capture_output=True,
                            text=True, timeout=10).stdout
    return answer.startswith("hello from web-")


def kill(lab: Lab, name: str) -> float:
    """Kill `name`; the moment it runs again (a new process)."""
    if name == "supervisor":
        process = supervisor_process(lab.paths)
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        until(lambda: supervisor_process(lab.paths) is None)
        Lab.up(lab.name, progress=lambda _m: None)
        return time.monotonic()
    pid = daemon(lab, name).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return until(lambda: (d := daemon(lab, name)).state == "running" and d.pid != pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=default_out("fault-recovery"))
    options = parser.parse_args()
    name = "bf" + secrets.token_hex(2)
    rows: list[Row] = []
    params = {"rounds": options.rounds, "daemons": list(DAEMONS)}
    try:
        lab = Lab.up(name, 1, progress=lambda _m: None)
        kubectl(lab, "create", "deployment", "web", f"--image={lab.images.ref('web')}",
                "--replicas=2")
        kubectl(lab, "expose", "deployment", "web", "--port=80", "--target-port=8080")
        cluster_ip = kubectl(lab, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
        until(lambda: working(lab, cluster_ip))
        for round_ in range(options.rounds):
            for daemon_name in DAEMONS:
                start = time.monotonic()
                restarted = kill(lab, daemon_name)
                recovered = until(lambda: working(lab, cluster_ip))
                rows.append({"daemon": daemon_name, "round": round_,
                             "restart_s": round(restarted - start, 3),
                             "recover_s": round(recovered - start, 3)})
                write_results(options.out, "fault-recovery", params, rows)
                print(f"{daemon_name}: restarted {restarted - start:.2f}s, "
                      f"working {recovered - start:.2f}s", flush=True)
    finally:
        take_down_lab(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
