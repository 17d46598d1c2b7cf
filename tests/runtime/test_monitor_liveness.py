"""Whether a container's monitor (conmon) still runs, as the runtime's recovery asks it.

A monitor gone without an exit file (a host reboot, kill -9 of conmon) makes recovery record
the container's exit (255); a monitor taken for alive leaves the container RUNNING with no
exit to come, so the kubelet's StopContainer waits for it in vain at every retry (a lab's
pods, cluster DNS among them, never ran again after `nodelab up` following a reboot whose
killed monitors were still zombies, not yet reaped by init, when the runtime started).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.lab.cri_harness.endpoint import Endpoint, stop_process
from nodelab.runtime.monitor import MonitorPaths, monitor_alive, monitors

from .cri_pod import Pod

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
CID = "4f1c" * 16
OTHER = "9a0b" * 16


@pytest.mark.unit
@pytest.mark.parametrize(("argv", "expected"), [
    (["/usr/bin/conmon", "--api-version", "1", "-c", CID, "-u", CID, "-n", "web"], True),
    (["conmon", "--cid", CID], True),
    (["conmon", f"--cid={CID}"], True),
    (["/usr/bin/conmon", "--api-version", "1", "-c", OTHER, "-u", OTHER], False),  # another's
    (["/usr/bin/conmon", "-u", CID], False),  # -u is the session id, not the container
    (["/usr/bin/conmon", "-c"], False),
    (["/bin/sleep", "-c", CID], False),  # not conmon
    ([], False),  # a zombie, or a process gone: /proc/PID/cmdline is empty
])
def test_a_monitor_is_conmon_naming_this_container(argv: list[str], expected: bool) -> None:
    assert monitors(argv, CID) is expected


@pytest.fixture
def fake_conmon(tmp_path: Path) -> Iterator[Path]:
    """A copy of sleep named `conmon` (its /proc/PID/comm reads `conmon`)."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    binary = tmp_path / "conmon"
    shutil.copy(sleep, binary)
    yield binary


def started(binary: Path) -> subprocess.Popen[bytes]:
    """`binary 60`, once it runs (Popen returns after the fork, before the exec)."""
    process = subprocess.Popen([str(binary), "60"])
    comm = Path(f"/proc/{process.pid}/comm")
    deadline = time.monotonic() + 10
    while comm.read_text().strip() != binary.name:
        assert time.monotonic() < deadline, f"{binary} did not start"
        time.sleep(0.01)
    return process


def paths_with_pid(tmp_path: Path, pid: int) -> MonitorPaths:
    paths = MonitorPaths(bundle=tmp_path, exit_dir=tmp_path / "exits",
                         socket_dir=tmp_path / "sockets", container_id=CID)
    paths.conmon_pidfile.write_text(f"{pid}\n")
    return paths


def test_a_killed_monitor_not_yet_reaped_is_gone(tmp_path: Path, fake_conmon: Path) -> None:
    process = started(fake_conmon)
    try:
        paths = paths_with_pid(tmp_path, process.pid)
        process.send_signal(signal.SIGKILL)
        wait_zombie(process.pid, "process")  # not reaped
        assert not monitor_alive(paths)
    finally:
        process.kill()
        process.wait()


def test_a_reused_pid_is_not_the_monitor(tmp_path: Path, fake_conmon: Path) -> None:
    """The pidfile's PID now runs something else named conmon (PIDs wrap around: a reboot
    starts over, a busy host wraps 32768 in minutes)."""
    process = started(fake_conmon)
    try:
        assert not monitor_alive(paths_with_pid(tmp_path, process.pid))
    finally:
        process.kill()
        process.wait()


def test_no_pidfile_or_no_process_is_no_monitor(tmp_path: Path) -> None:
    paths = MonitorPaths(bundle=tmp_path, exit_dir=tmp_path / "exits",
                         socket_dir=tmp_path / "sockets", container_id=CID)
    assert not monitor_alive(paths)
    paths.conmon_pidfile.write_text("not a pid")
    assert not monitor_alive(paths)
    process = subprocess.Popen(["true"])
    process.wait()  # reaped: the PID is free
    assert not monitor_alive(paths_with_pid(tmp_path, process.pid))


def children(parent: int) -> set[int]:
    """PIDs whose parent is `parent`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1] == str(parent):
                    found.add(int(entry.name))
    return found


def wait_zombie(pid: int, what: str) -> None:
    """Until `pid` is a zombie: killed, not yet reaped by its parent, and every other thread of
    it ended (its leader is a zombie before them, while they may still hold its files)."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 10
    while (stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
           or os.listdir(f"/proc/{pid}/task") != [str(pid)]):
        assert time.monotonic() < deadline, f"the killed {what} did not become a zombie"
        time.sleep(0.01)


# Runs the command in its argv as its child, as a subreaper: orphans of the command's process
# tree (conmon double-forks) become its children, and it never reaps them: a killed one stays a
# zombie until SIGTERM, which kills the command and ends this process (init then reaps them).
SUBREAPER = textwrap.dedent("""
    import ctypes, signal, subprocess, sys
    if ctypes.CDLL(None, use_errno=True).prctl(%d, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    command = subprocess.Popen(sys.argv[1:])
    def end(*_):
        command.kill()
        sys.exit(0)
    signal.signal(signal.SIGTERM, end)
    while True:
        signal.pause()
""") % PR_SET_CHILD_SUBREAPER


@pytest.mark.privileged
@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["nodelab"], indirect=True)  # conmon is nodelab's monitor
def test_a_runtime_restarted_while_a_killed_monitor_is_a_zombie(endpoint: Endpoint,
                                                                 tmp_path: Path) -> None:
    """As after a host reboot with a slow init: the container's monitor was killed with -9 and
    is a zombie, not yet reaped, when the runtime starts. The container is exited (255, as
    containerd reports a task whose shim is gone), not running with no exit ever to come."""
    pod = Pod(endpoint, tmp_path)
    assert endpoint.restart is not None
    # the runtime runs under a subreaper that adopts the monitor, so that it stays a zombie
    # once killed (this test's own process is left as it was)
    endpoint.restart(signal.SIGKILL, under=[sys.executable, "-c", SUBREAPER])
    reaper = endpoint.runtime
    assert reaper is not None
    try:
        (runtime,) = children(reaper.pid)
        pod.rt = endpoint.runtime_stub()
        cid = pod.container("orphaned", ["sleep 3600"])
        monitor = int((endpoint.state / "runtime/containers" / cid / "conmon.pid").read_text())
        assert monitor in children(reaper.pid)
        os.kill(monitor, signal.SIGKILL)
        wait_zombie(monitor, "monitor")
        os.kill(runtime, signal.SIGKILL)  # the reaper stays, and the monitor a zombie
        wait_zombie(runtime, "runtime")
        endpoint.runtime = None
        endpoint.restart(signal.SIGKILL)
        pod.rt = endpoint.runtime_stub()
        status = pod.status(cid)
        assert (cri.ContainerState.Name(status.state), status.exit_code) == (
            "CONTAINER_EXITED", 255)
        pod.rt.StopContainer(cri.StopContainerRequest(container_id=cid, timeout=1), timeout=30)
    finally:
        stop_process(reaper)  # kills the runtime it ran if still running; init reaps the rest
        if endpoint.runtime is reaper:  # it failed before the restart
            endpoint.runtime = None
            endpoint.restart(signal.SIGKILL)
            pod.rt = endpoint.runtime_stub()
        pod.remove()


@pytest.mark.privileged
@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["nodelab"], indirect=True)
def test_a_container_whose_monitor_was_killed_stops(endpoint: Endpoint, tmp_path: Path) -> None:
    """kill -9 of conmon while the runtime runs: nobody will write the container's exit, so
    StopContainer waited for it in vain (10 s after SIGKILL, then an error, at every retry of
    the kubelet). It stops the container and records it exited with 255."""
    pod = Pod(endpoint, tmp_path)
    try:
        cid = pod.container("unmonitored", ["trap 'exit 3' TERM; sleep 3600 & wait"])
        monitor = int((endpoint.state / "runtime/containers" / cid / "conmon.pid").read_text())
        os.kill(monitor, signal.SIGKILL)
        assert pod.status(cid).state == cri.CONTAINER_RUNNING  # its process lives on
        pod.rt.StopContainer(cri.StopContainerRequest(container_id=cid, timeout=30), timeout=60)
        status = pod.status(cid)
        assert (cri.ContainerState.Name(status.state), status.exit_code) == (
            "CONTAINER_EXITED", 255)
    finally:
        pod.remove()


@pytest.mark.privileged
@pytest.mark.slow
@pytest.mark.parametrize("endpoint", ["nodelab"], indirect=True)
def test_a_container_that_ends_after_its_monitor_was_killed_is_exited(
        endpoint: Endpoint, tmp_path: Path) -> None:
    """kill -9 of conmon, then the container's process ends on its own: its status said
    running forever (nobody writes its exit); the runtime records it exited with 255 and
    publishes the event the kubelet restarts it on."""
    pod = Pod(endpoint, tmp_path)
    try:
        cid = pod.container("abandoned", ["sleep 3600"])
        bundle = endpoint.state / "runtime/containers" / cid
        os.kill(int((bundle / "conmon.pid").read_text()), signal.SIGKILL)
        os.kill(int((bundle / "pidfile").read_text()), signal.SIGKILL)  # the container's init
        status = pod.wait_state(cid, cri.CONTAINER_EXITED, timeout=30)
        assert status.exit_code == 255
    finally:
        pod.remove()
