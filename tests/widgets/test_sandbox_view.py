"""SandboxView on a pod-like sandbox made with the real tools: a pinned network namespace
(`ip netns add`), a "pause" process with its own uts, ipc and pid namespaces inside it, and a
"container" process joining the pause process's net, ipc and uts (as runc does for a pod)."""

from __future__ import annotations

import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.host.commands import run
from nodelab.host.processes import ProcessId, send_signal
from nodelab.widgets.namespace_source import namespace_inodes, read_sandbox
from nodelab.widgets.sandbox_view import SandboxView
from tests.widgets.conftest import privileged, wait_for

pytestmark = [*privileged, pytest.mark.slow]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"nlw{secrets.token_hex(3)}-sb"
    run(["ip", "netns", "add", name])
    try:
        yield name
    finally:
        run(["ip", "netns", "del", name], check=False)


def test_sandbox_namespaces_members_and_pins(netns: str) -> None:
    started: list[subprocess.Popen[bytes]] = []
    extra: list[ProcessId] = []  # by identity: a PID of one that ended may be reused
    try:
        unshare = subprocess.Popen(["ip", "netns", "exec", netns, "unshare", "--uts", "--ipc",
                                    "--pid", "--fork", "sleep", "120"])
        started.append(unshare)
        assert wait_for(lambda: bool(children(unshare.pid)))
        pause = children(unshare.pid)[0]
        pause_id = ProcessId.of(pause)
        assert pause_id is not None
        extra.append(pause_id)
        assert wait_for(lambda: namespace_inodes(pause).get("uts")
                        != namespace_inodes("self").get("uts"))

        view = SandboxView(pause, interval=0.1)
        _ = view.widget
        view.start()
        snapshot = view.snapshot
        assert snapshot is not None and snapshot.alive
        spaces = {n.type: n for n in snapshot.namespaces}
        assert f"/run/netns/{netns}" in " ".join(spaces["net"].pinned_at)
        assert not spaces["net"].shared_with_host and not spaces["uts"].shared_with_host
        assert spaces["user"].shared_with_host
        by_pid = {m.pid: m for m in snapshot.members}
        assert set(by_pid) == {unshare.pid, pause}
        # unshare(2) moved `unshare` itself into the new uts and ipc; the pid one is the child's
        assert "uts" in by_pid[unshare.pid].shares and "pid" not in by_pid[unshare.pid].shares

        container = subprocess.Popen(["nsenter", "-t", str(pause), "--net", "--ipc", "--uts",
                                      "sleep", "120"])
        started.append(container)
        assert wait_for(lambda: f">{container.pid}<" in view.body.value), "no live update"
        joined = next(m for m in read_sandbox(pause).members if m.pid == container.pid)
        assert {"net", "ipc", "uts"} <= set(joined.shares)
        assert "pid" not in joined.shares
        assert spaces["net"].inode and str(spaces["net"].inode) in view.static_html()

        for process in started:
            process.kill()
            process.wait()
        send_signal(pause_id, signal.SIGKILL)
        assert wait_for(lambda: "is gone" in view.body.value), "the view missed the exit"
        view.stop()
    finally:
        for process in started:
            process.kill()
            process.wait()
        for leftover in extra:
            send_signal(leftover, signal.SIGKILL)
