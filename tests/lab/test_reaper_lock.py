"""One reaper at a time on the host (nodelab/lab/claims.py `reaping`): while a process holds the
reaper lock, another process's `reap_abandoned` waits (blocked on the lock's flock, as
/proc/locks shows), saying on stderr who holds it, and an abandoned claim stays; the holder's own
reap runs inside its hold; once the hold ends the waiting reaper goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodelab.host.processes import ProcessId
from nodelab.lab.claims import REAPER_LOCK, Claim, claims, reap_abandoned, reaping, save
from tests.conftest import needs_root
from tests.lab.kube import eventually
from tests.runtime.test_killed_harness import kill

pytestmark = [pytest.mark.privileged, needs_root]

REAP = "from nodelab.lab.claims import reap_abandoned\nreap_abandoned()\n"


def dead_owner() -> ProcessId:
    """The identity of a process that has ended."""
    ended = subprocess.Popen(["sleep", "60"])
    owner = ProcessId.of(ended.pid)
    ended.kill()
    ended.wait(timeout=30)
    assert owner is not None and not owner.alive()
    return owner


def abandoned_claim(root: Path) -> Claim:
    """A claim whose owner is gone, on an empty directory and with no name prefix: reaping it
    touches nothing of anyone's."""
    root.mkdir()
    return save(Claim("runtime", root, dead_owner()))


def waiting_for_the_lock(pid: int) -> bool:
    """/proc/locks lists `pid` blocked (`->`) on the reaper lock."""
    inode = REAPER_LOCK.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and fields[-4] == str(pid) and fields[-3].endswith(f":{inode}"):
            return True
    return False


REPO = str(Path(__file__).resolve().parents[2])


def test_another_reaper_waits_for_the_holder(tmp_path: Path) -> None:
    with reaping():
        first = abandoned_claim(tmp_path / "first")  # inside the hold: nobody else reaps it
        other = subprocess.Popen([sys.executable, "-c", REAP], stdout=subprocess.PIPE,
                                 text=True, cwd=REPO)
        try:
            eventually(lambda: waiting_for_the_lock(other.pid), timeout=60)
            assert first in claims(), "nobody reaps while this process holds the lock"
            assert first in reap_abandoned(), "the holder's own reap runs inside its hold"
            second = abandoned_claim(tmp_path / "second")
        except BaseException:
            kill(other)
            raise
    other.communicate(timeout=60)
    assert other.returncode == 0
    # the waiting reaper (or another session's that started meanwhile) took it
    assert second not in claims()


def test_a_waiting_reaper_says_who_holds_the_lock() -> None:
    with reaping():
        other = subprocess.Popen([sys.executable, "-c", REAP], stderr=subprocess.PIPE,
                                 text=True, cwd=REPO)
        try:
            eventually(lambda: waiting_for_the_lock(other.pid), timeout=60)
            assert other.stderr is not None
            said = other.stderr.readline()  # written before it blocked
        except BaseException:
            kill(other)
            raise
    other.communicate(timeout=60)
    assert other.returncode == 0
    expected = f"waiting for the reaper lock ({REAPER_LOCK}) held by PID {os.getpid()} ("
    assert said.startswith(expected), said
