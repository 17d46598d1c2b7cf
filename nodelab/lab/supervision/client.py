"""Talking to the lab supervisor: start it, ask it to start, stop or restart a daemon, stop it.

`ensure_supervisor` starts the supervisor when none runs (every `up` and `join` calls it before
its first daemon, so `up` also brings back a supervisor that was killed); it is written to the
ledger (kind `supervisor`) before it starts. `ask` writes the daemon's unit with a new request
and wakes the supervisor; `wait_done` waits until the supervisor reports the request carried
out. `stop_supervision` is the first thing `down` does: it ends the supervisor (found by its
pidfile, and by its command line among the lab's marked processes, so also one whose pidfile
is gone), after which nothing restarts what `down` stops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

from nodelab.errors import NodelabError
from nodelab.host.files import tail
from nodelab.host.processes import (
    LAB_ENV,
    ProcessId,
    cmdline,
    lab_processes,
    send_signal,
    terminate,
)
from nodelab.lab.ledger import Entry, Ledger
from nodelab.lab.paths import LabPaths
from nodelab.lab.supervision.supervisor import read_pidfile
from nodelab.lab.supervision.units import (
    SUPERVISOR,
    Action,
    Request,
    Unit,
    UnitState,
    all_units,
    read_state,
    read_unit,
    write_unit,
)

MODULE = "nodelab.lab.supervision"
START_TIMEOUT = 15.0


class SupervisorError(NodelabError):
    pass


def supervisor_process(paths: LabPaths) -> ProcessId | None:
    """The lab's running supervisor, or None."""
    process = read_pidfile(paths.pidfile(SUPERVISOR))
    return process if process is not None and process.alive() else None


def ensure_supervisor(lab: str, paths: LabPaths, ledger: Ledger) -> ProcessId:
    """The lab's supervisor, started first if none runs."""
    running = supervisor_process(paths)
    if running is not None:
        return running
    pidfile = paths.pidfile(SUPERVISOR)
    ledger.record(Entry("supervisor", SUPERVISOR, "", str(pidfile)))
    paths.run.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = paths.log(SUPERVISOR)
    paths.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(paths.tmp), LAB_ENV: lab}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "--lab", lab, "--state-dir", str(paths.root)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, close_fds=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        running = supervisor_process(paths)
        if running is not None:
            return running
        if proc.poll() not in (None, 0):
            break
        time.sleep(0.05)
    raise SupervisorError(f"the supervisor of lab {lab} did not start; its log ({log_path}) "
                          f"ends with:\n{tail(log_path)}")


def ask(paths: LabPaths, name: str, action: Action, unit: Unit | None = None) -> Request:
    """Write `name`'s unit (`unit`, or the one on disk) with a new `action` request."""
    current = unit or read_unit(paths, name)
    if current is None:
        raise SupervisorError(f"no daemon {name} in this lab (its daemons: "
                              f"{', '.join(daemon_names(paths)) or 'none'})")
    request = Request(action)
    write_unit(paths, replace(current, want="stopped" if action == "stop" else "running",
                              request=request))
    process = supervisor_process(paths)
    if process is not None:
        send_signal(process, 1)  # SIGHUP: read the units now
    return request


def wait_done(lab: str, paths: LabPaths, name: str, request: Request,
              timeout: float) -> UnitState:
    """The daemon's state once the supervisor has carried `request` out."""
    deadline = time.monotonic() + timeout
    while True:
        state = read_state(paths, name)
        if state is not None and state.handled == request.id:
            return state
        if supervisor_process(paths) is None:
            raise SupervisorError(f"the supervisor of lab {lab} is not running, so nothing "
                                  f"can {request.action} {name}: `nodelab up --name {lab}` "
                                  "starts it again")
        if time.monotonic() > deadline:
            raise SupervisorError(f"the supervisor of lab {lab} did not {request.action} "
                                  f"{name} within {timeout:.0f}s; see "
                                  f"{paths.log(SUPERVISOR)}")
        time.sleep(0.05)


def daemon_names(paths: LabPaths) -> list[str]:
    return [unit.name for unit in all_units(paths)]


def stop_supervision(lab: str, paths: LabPaths, grace: float = 5.0) -> None:
    """End the lab's supervisor (never its daemons), also one whose pidfile is gone."""
    found = supervisor_process(paths)
    if found is not None:
        terminate(found, grace)
    for process in lab_processes(lab):
        argv = cmdline(process)
        if "-m" in argv and MODULE in argv:
            terminate(process, grace)
    paths.pidfile(SUPERVISOR).unlink(missing_ok=True)
