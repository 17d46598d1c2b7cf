"""Processes nodelab started, named by PID *and* start time so a reused PID is never ended.

`ProcessId` is what a pidfile holds. `terminate` sends TERM, waits, then KILL, and only ever to
the exact process that was started. Every lab daemon carries `NODELAB_LAB=<lab>` in its
environment and hands it on to its children, so `lab_processes` finds everything a lab started,
also after the daemon that started it was killed with -9.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LAB_ENV = "NODELAB_LAB"


@dataclass(frozen=True)
class ProcessId:
    pid: int
    start_time: int  # clock ticks since boot, field 22 of /proc/<pid>/stat

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        start = start_time(pid)
        return None if start is None else cls(pid, start)

    def alive(self) -> bool:
        """True while this very process exists and is not a zombie."""
        return start_time(self.pid) == self.start_time and _state(self.pid) not in ("Z", "X", None)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) is in parentheses and may hold spaces
    return text[text.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our own child (no zombie left behind)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate(process: ProcessId, grace: float = 5.0) -> bool:
    """End `process`: TERM, wait up to `grace` seconds, then KILL. False if it was gone."""
    if not process.alive():
        _reap(process.pid)
        return False
    send_signal(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(process.pid)
        if not process.alive():
            return True
        time.sleep(0.05)
    send_signal(process, signal.SIGKILL)
    for _ in range(100):
        _reap(process.pid)
        if not process.alive():
            break
        time.sleep(0.02)
    return True


def terminate_all(processes: Iterable[ProcessId], grace: float = 5.0) -> None:
    """End every process at once: TERM to all, one shared wait of up to `grace` seconds, then
    KILL what is left (a node with 110 pods has over 200 monitors and pod processes: one wait
    each took minutes)."""
    alive = [p for p in processes if p.alive() and send_signal(p, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    while alive and time.monotonic() < deadline:
        for process in alive:
            _reap(process.pid)
        alive = [p for p in alive if p.alive()]
        if alive:
            time.sleep(0.05)
    for process in alive:
        send_signal(process, signal.SIGKILL)
    for _ in range(100):
        for process in alive:
            _reap(process.pid)
        alive = [p for p in alive if p.alive()]
        if not alive:
            return
        time.sleep(0.02)


def send_signal(process: ProcessId, signum: int) -> bool:
    """Send `signum` to exactly `process` (never to a stranger that reused its PID)."""
    if start_time(process.pid) != process.start_time:
        return False
    try:
        os.kill(process.pid, signum)
    except ProcessLookupError:
        return False
    return True



def cmdline(process: ProcessId) -> list[str]:
    """The process's argv ([] once it is gone)."""
    try:
        raw = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def lab_processes(lab: str) -> Iterator[ProcessId]:
    """Every live process whose environment says it belongs to `lab`."""
    marker = f"{LAB_ENV}={lab}".encode()
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker in environ.split(b"\0"):
            process = ProcessId.of(int(entry.name))
            if process and process.alive():
                yield process
