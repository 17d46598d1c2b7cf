"""The lab supervisor process: restarts every lab daemon that exits (systemd's job on a node).

One per lab (`python -m nodelab.lab.supervision --lab L --state-dir D`), in the root
namespace, started by `up` or `join` (client.py) and holding an exclusive lock on
`run/supervisor.lock`, so a second one exits at once. It is the only process that starts,
stops and restarts the lab's daemons, each as its own child in its own session (inside its
node's network namespace through `nsenter`), so it learns every exit at once (a pidfd per
daemon) with its exit code or signal.

Its loop: read the unit files (units.py) and carry out new requests; start the daemons whose
restart delay is over; KILL those that outlived their stop grace; then sleep until a daemon
exits, a client wakes it (SIGHUP), or the next timer. What to do on an exit is `after_exit`
(policy.py), a pure function; this module only runs processes and writes files.

`kill -9` of the supervisor leaves the daemons running (they are in sessions of their own).
The next supervisor adopts every daemon whose pidfile names a live process (PID and start
time): it watches it through a pidfd, but as it is not its parent, a later exit of an adopted
daemon has no known status. A daemon found dead at startup stays `inactive` until a request
starts it (`up` starts every daemon, in order, right after it starts the supervisor).
SIGTERM ends the supervisor and nothing else: `down` stops supervision first, then the daemons.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.host.files import write_atomic
from nodelab.host.netlink import in_netns_argv
from nodelab.host.processes import LAB_ENV, ProcessId, send_signal
from nodelab.kubewire import times
from nodelab.lab.paths import LabPaths
from nodelab.lab.supervision.policy import (
    ExitStatus,
    History,
    RestartPolicy,
    after_exit,
    explicit_start,
    record_start,
)
from nodelab.lab.supervision.units import (
    SUPERVISOR,
    LastExit,
    Request,
    Unit,
    UnitState,
    all_units,
    read_state,
    write_state,
)

log = logging.getLogger("nodelab.supervisor")
IDLE_SCAN = 1.0  # seconds between scans of the unit files when nothing wakes the supervisor


@dataclass
class Tracked:
    """One daemon as the supervisor sees it."""

    unit: Unit
    state: str = "inactive"
    history: History = field(default_factory=History)
    process: ProcessId | None = None
    popen: subprocess.Popen[bytes] | None = None  # None for a daemon adopted at startup
    pidfd: int | None = None
    started: float = 0.0  # monotonic
    next_start: float | None = None  # monotonic, while restarting
    kill_at: float | None = None  # monotonic: SIGKILL if still running (stop grace over)
    in_progress: Request | None = None  # a stop or restart waiting for the exit
    last_exit: LastExit | None = None
    reason: str = ""
    handled: str = ""


def _uptime() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def _ran_for(process: ProcessId) -> float:
    """How long an adopted process has been running (its start time is in clock ticks)."""
    return max(0.0, _uptime() - process.start_time / os.sysconf("SC_CLK_TCK"))


def read_pidfile(path: Path) -> ProcessId | None:
    try:
        data = json.loads(path.read_text())
        return ProcessId(int(data["pid"]), int(data["start_time"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def write_pidfile(path: Path, process: ProcessId, argv: list[str]) -> None:
    write_atomic(path, json.dumps({"pid": process.pid, "start_time": process.start_time,
                                   "argv": argv}))


class LabSupervisor:
    def __init__(self, lab: str, paths: LabPaths, policy: RestartPolicy | None = None) -> None:
        self.lab = lab
        self.paths = paths
        self.policy = policy or RestartPolicy()
        self.tracked: dict[str, Tracked] = {}
        self.stopping = False

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        self.paths.run.mkdir(parents=True, exist_ok=True)
        lock = open(self.paths.run / f"{SUPERVISOR}.lock", "w")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another supervisor of lab %s runs: exiting", self.lab)
            return 0
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, lambda *_: None)  # a client wrote a unit: just wake up
        for unit in all_units(self.paths):
            self._adopt(unit)
        me = ProcessId.of(os.getpid())
        assert me is not None
        write_pidfile(self.paths.pidfile(SUPERVISOR), me,
                      ["python", "-m", "nodelab.lab.supervision", "--lab", self.lab])
        log.info("supervising lab %s (%d daemons adopted)", self.lab,
                 sum(1 for t in self.tracked.values() if t.state == "running"))
        while not self.stopping:
            self._scan()
            self._fire_timers()
            self._wait(wake_r)
        log.info("stopping supervision of lab %s; the daemons keep running", self.lab)
        return 0

    def _on_stop(self, *_: object) -> None:
        self.stopping = True

    def _wait(self, wake_r: int) -> None:
        poller = select.poll()
        poller.register(wake_r, select.POLLIN)
        by_fd = {t.pidfd: t for t in self.tracked.values() if t.pidfd is not None}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        now = time.monotonic()
        timers = [t.next_start for t in self.tracked.values() if t.next_start is not None]
        timers += [t.kill_at for t in self.tracked.values() if t.kill_at is not None]
        timeout = min([IDLE_SCAN, *[max(0.0, at - now) for at in timers]])
        for fd, _events in poller.poll(timeout * 1000):
            if fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
            elif fd in by_fd:
                self._exited(by_fd[fd])

    # --- units and requests --------------------------------------------------------------------

    def _adopt(self, unit: Unit) -> None:
        saved = read_state(self.paths, unit.name)
        tracked = Tracked(unit)
        if saved is not None:
            tracked.history = History(restarts=saved.restarts)
            tracked.last_exit, tracked.handled = saved.last_exit, saved.handled
        process = read_pidfile(self.paths.pidfile(unit.name))
        if process is not None and process.alive():
            try:
                tracked.pidfd = os.pidfd_open(process.pid)
            except ProcessLookupError:
                process = None
            else:
                if not process.alive():  # the PID was reused between the check and the open
                    os.close(tracked.pidfd)
                    tracked.pidfd, process = None, None
        if process is not None:
            tracked.process, tracked.state = process, "running"
            tracked.started = time.monotonic() - _ran_for(process)
        else:
            tracked.reason = "found not running when the supervisor started"
        self.tracked[unit.name] = tracked
        self._save(tracked)

    def _scan(self) -> None:
        for unit in all_units(self.paths):
            tracked = self.tracked.get(unit.name)
            if tracked is None:
                tracked = self.tracked[unit.name] = Tracked(unit)
            tracked.unit = unit
            request = unit.request
            if (request is not None and request.id != tracked.handled
                    and (tracked.in_progress is None or tracked.in_progress.id != request.id)):
                self._carry_out(tracked, request)

    def _carry_out(self, tracked: Tracked, request: Request) -> None:
        log.info("%s: %s requested", tracked.unit.name, request.action)
        running = tracked.process is not None
        tracked.next_start = None
        if request.action in ("start", "restart"):
            tracked.history = explicit_start(tracked.history)
        if request.action == "start" and running:
            self._done(tracked, request)
        elif request.action in ("start", "restart") and not running:
            self._spawn(tracked)
            self._done(tracked, request)
        elif running:  # stop or restart of a running daemon: finish when it has exited
            tracked.in_progress = request
            self._terminate(tracked)
        else:  # stop of a daemon that does not run
            tracked.state, tracked.reason = "stopped", "stopped on request"
            self._done(tracked, request)

    def _done(self, tracked: Tracked, request: Request) -> None:
        tracked.handled, tracked.in_progress = request.id, None
        self._save(tracked)

    def _terminate(self, tracked: Tracked) -> None:
        if tracked.process is not None:
            send_signal(tracked.process, signal.SIGTERM)
            tracked.kill_at = time.monotonic() + tracked.unit.stop_grace
            tracked.state = "stopping"
            self._save(tracked)

    def _fire_timers(self) -> None:
        now = time.monotonic()
        for tracked in list(self.tracked.values()):
            if tracked.kill_at is not None and now >= tracked.kill_at and tracked.process:
                log.info("%s: still running %gs after SIGTERM: SIGKILL", tracked.unit.name,
                         tracked.unit.stop_grace)
                send_signal(tracked.process, signal.SIGKILL)
                tracked.kill_at = None
            if (tracked.state == "restarting" and tracked.next_start is not None
                    and now >= tracked.next_start):
                tracked.next_start = None
                self._spawn(tracked)

    # --- processes -------------------------------------------------------------------------------

    def _spawn(self, tracked: Tracked) -> None:
        unit, paths = tracked.unit, self.paths
        tracked.history = record_start(tracked.history, time.monotonic(), self.policy)
        paths.logs.mkdir(parents=True, exist_ok=True)
        paths.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        env = {**os.environ, "TMPDIR": str(paths.tmp), **unit.env, LAB_ENV: self.lab}
        argv = in_netns_argv(unit.netns, list(unit.argv))
        try:
            with open(paths.log(unit.name), "ab") as out:
                with contextlib.suppress(OSError):  # a full filesystem must not stop the start
                    out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {unit.name}"
                              f" (restart {tracked.history.restarts})\n".encode())
                    out.flush()
                popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True, close_fds=True)
        except OSError as exc:
            log.warning("%s: cannot start %s: %s", unit.name, argv[0], exc)
            tracked.started = time.monotonic()
            self._after_exit(tracked, ExitStatus(code=127))
            return
        tracked.popen, tracked.started = popen, time.monotonic()
        tracked.process = ProcessId.of(popen.pid)
        try:
            tracked.pidfd = os.pidfd_open(popen.pid)
        except ProcessLookupError:  # cannot happen for an unreaped child; be safe anyway
            tracked.pidfd = None
        tracked.state, tracked.reason = "running", ""
        if tracked.process is not None:
            try:
                write_pidfile(paths.pidfile(unit.name), tracked.process, list(unit.argv))
            except OSError as exc:
                log.warning("%s: %s", unit.name, exc)
        log.info("%s: started, pid %d", unit.name, popen.pid)
        self._save(tracked)

    def _exited(self, tracked: Tracked) -> None:
        status = ExitStatus()
        if tracked.popen is not None:
            status = ExitStatus.of_returncode(tracked.popen.wait())
        if tracked.pidfd is not None:
            os.close(tracked.pidfd)
        tracked.pidfd, tracked.popen, tracked.process, tracked.kill_at = None, None, None, None
        self.paths.pidfile(tracked.unit.name).unlink(missing_ok=True)
        self._after_exit(tracked, status)

    def _after_exit(self, tracked: Tracked, status: ExitStatus) -> None:
        now = time.monotonic()
        ran_for = now - tracked.started
        tracked.last_exit = LastExit(status.describe(), status.code, status.signal, times.now(),
                                     round(ran_for, 3))
        request = tracked.in_progress
        if request is not None and request.action == "restart":
            log.info("%s: exited (%s) for a restart", tracked.unit.name, status.describe())
            self._spawn(tracked)
            self._done(tracked, request)
            return
        stop = request is not None or tracked.unit.want == "stopped"
        decision = after_exit(tracked.history, ran_for, stop, now, self.policy)
        tracked.history = decision.history
        log.info("%s: exited (%s) after %.1fs: %s", tracked.unit.name, status.describe(),
                 ran_for, decision.reason)
        if decision.action == "restart":
            tracked.state, tracked.next_start = "restarting", now + decision.delay
        else:
            tracked.state = "stopped" if decision.action == "stay-stopped" else "failed"
        tracked.reason = decision.reason
        if request is not None:
            self._done(tracked, request)
        else:
            self._save(tracked)

    def _save(self, tracked: Tracked) -> None:
        state = UnitState(tracked.unit.name, tracked.state,
                          tracked.process.pid if tracked.process else None,
                          tracked.history.restarts, tracked.last_exit, tracked.reason,
                          tracked.handled)
        try:
            write_state(self.paths, state)
        except OSError as exc:  # e.g. the state filesystem is full: keep supervising
            log.warning("%s: %s", tracked.unit.name, exc)
