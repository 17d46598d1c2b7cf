"""The lab supervisor against a real lab: restarts after kill -9, learner stops, status, down.

One lab for the whole story (a lab costs ~20 s): each step waits for exactly the state the
next assertion reads (the supervisor's state file, through `Lab.status()`), never a sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from nodelab.host.processes import lab_processes
from nodelab.lab.daemons import DaemonStatus
from nodelab.lab.lab import Lab, take_down_lab
from nodelab.lab.supervision.client import supervisor_process
from tests.conftest import LabFactory, needs_root
from tests.lab.kube import eventually
from tests.lab.test_lifecycle import lab_residue

pytestmark = [pytest.mark.privileged, needs_root]


def daemon(lab: Lab, name: str) -> DaemonStatus:
    status = lab.status()
    every = [*status.daemons, *(d for n in status.nodes for d in n.daemons)]
    return next(d for d in every if d.name == name)


def pid(status: DaemonStatus) -> int:
    """The running daemon's PID (a PID of None must not become os.kill(0, ...): that is the
    test's own process group)."""
    assert status.state == "running" and status.pid, f"{status.name} is not running: {status}"
    return status.pid


def restarted(lab: Lab, name: str, old_pid: int, restarts: int) -> DaemonStatus | None:
    """`name`'s status once it runs again as a new process after `restarts` restarts."""
    now = daemon(lab, name)
    ok = now.state == "running" and now.pid not in (None, old_pid) and now.restarts == restarts
    return now if ok else None


def nodelab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nodelab", *args], capture_output=True,
                          text=True, timeout=120, env=os.environ)


def test_the_supervisor_restarts_obeys_and_survives(make_lab: LabFactory) -> None:
    lab = make_lab()
    supervisor = daemon(lab, "supervisor")
    assert supervisor.state == "running"

    # kill -9 a node daemon and a control-plane daemon: both come back, status says how
    kubelet, apiserver = daemon(lab, "node1/kubelet"), daemon(lab, "controlplane")
    assert kubelet.pid and apiserver.pid and kubelet.restarts == 0
    os.kill(pid(kubelet), signal.SIGKILL)
    os.kill(pid(apiserver), signal.SIGKILL)
    again = eventually(lambda: restarted(lab, "node1/kubelet", kubelet.pid or 0, 1), 30, 0.1)
    assert again.last_exit is not None and again.last_exit.signal == signal.SIGKILL
    assert again.last_exit.status == "signal 9 (SIGKILL)"
    eventually(lambda: restarted(lab, "controlplane", apiserver.pid or 0, 1), 30, 0.1)
    reported = json.loads(nodelab("status", "--name", lab.name, "--json").stdout)
    node_daemons = {d["name"]: d for d in reported["nodes"][0]["daemons"]}
    assert node_daemons["node1/kubelet"]["restarts"] == 1
    assert node_daemons["node1/kubelet"]["last_exit"]["signal"] == 9

    # a learner stops kube-proxy: it stays stopped (no restart), then starts it again
    proxy = daemon(lab, "node1/proxy")
    stopped = lab.stop_daemon("proxy", node="node1")
    assert stopped.state == "stopped" and stopped.pid is None
    assert stopped.reason == "stopped on request" and stopped.restarts == 0
    assert not any(p.pid == proxy.pid for p in lab_processes(lab.name))
    assert not lab.status().healthy
    started = lab.start_daemon("proxy", node="node1")
    assert started.state == "running" and started.pid not in (None, proxy.pid)
    result = nodelab("daemon", "restart", "controllers", "--name", lab.name, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "running"
    bad = nodelab("daemon", "stop", "node9", "kubelet", "--name", lab.name)
    assert bad.returncode == 1 and "has no node node9" in bad.stderr

    # kill -9 of the supervisor: the daemons keep running; `up` brings supervision back and
    # adopts them (same PIDs), and the new supervisor restarts an adopted daemon too
    before = {d.name: d.pid for n in lab.status().nodes for d in n.daemons}
    os.kill(pid(supervisor), signal.SIGKILL)
    eventually(lambda: supervisor_process(lab.paths) is None, 10, 0.05)
    assert daemon(lab, "supervisor").state == "dead"
    Lab.up(lab.name, progress=lambda _m: None)
    assert daemon(lab, "supervisor").pid not in (None, supervisor.pid)
    assert {d.name: d.pid for n in lab.status().nodes for d in n.daemons} == before
    podnet = daemon(lab, "node1/podnet")
    os.kill(pid(podnet), signal.SIGKILL)
    adopted = eventually(lambda: restarted(lab, "node1/podnet", podnet.pid or 0, 1), 30, 0.1)
    assert adopted.last_exit is not None and adopted.last_exit.code is None
    assert "unknown" in adopted.last_exit.status
    assert lab.status().healthy

    # down after kill -9 of the supervisor still leaves nothing
    os.kill(pid(daemon(lab, "supervisor")), signal.SIGKILL)
    take_down_lab(lab.name)
    assert lab_residue(lab) == set()
