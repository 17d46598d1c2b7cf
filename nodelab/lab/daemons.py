"""A lab's long-running processes (the registry, control plane and node daemons).

The lab supervisor (`supervision/`) runs them: each detached (its own session, stdin closed,
output appended to its log file), inside its node's network namespace when it has one
(`nsenter --net`, which keeps the PID), with `NODELAB_LAB=<lab>` in its environment and the
lab's own `tmp/` as its TMPDIR, restarted with a backoff when it exits. `Supervisor` here is
the handle the steps of `up` and the faces use: `start` (of a daemon that already runs: nothing)
waits until the daemon's readiness check passes, and fails with the end of its log if it dies
first; `request` stops, starts or restarts one on a learner's demand. A pidfile holds the PID
*and* the start time, so `stop` (for `down`) ends exactly that process (TERM, then KILL after
the grace period) and never a stranger that reused the PID.
"""

from __future__ import annotations

import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.files import tail
from nodelab.host.processes import terminate_all
from nodelab.lab.ledger import Entry, Ledger
from nodelab.lab.paths import LabPaths
from nodelab.lab.supervision.client import START_TIMEOUT, ask, ensure_supervisor, wait_done
from nodelab.lab.supervision.supervisor import read_pidfile
from nodelab.lab.supervision.units import Action, LastExit, Unit, UnitState, read_state, read_unit


@dataclass(frozen=True)
class Readiness:
    """A check that answers True once the daemon serves, as plain data (it is written into
    the daemon's unit, so `nodelab daemon start|restart` waits for it too): a TCP port that
    accepts connections, a URL that answers 2xx (over TLS verified with `cafile`), or a unix
    socket that accepts connections."""

    kind: str  # tcp | http | unix
    target: str  # host:port | URL | socket path
    cafile: str = ""

    @property
    def description(self) -> str:
        return {"tcp": f"TCP {self.target} accepts connections",
                "http": f"GET {self.target} answers 2xx",
                "unix": f"unix socket {self.target} accepts connections"}[self.kind]

    def check(self) -> bool:
        try:
            if self.kind == "tcp":
                host, _, port = self.target.rpartition(":")
                with socket.create_connection((host, int(port)), timeout=0.5):
                    return True
            if self.kind == "unix":
                with socket.socket(socket.AF_UNIX) as sock:
                    sock.settimeout(0.5)
                    sock.connect(self.target)
                    return True
            context = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
            with urllib.request.urlopen(self.target, timeout=1.0, context=context) as response:
                return bool(200 <= response.status < 300)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "cafile": self.cafile}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Readiness:
        return cls(str(data["kind"]), str(data["target"]), str(data.get("cafile", "")))


def tcp_ready(host: str, port: int) -> Readiness:
    return Readiness("tcp", f"{host}:{port}")


def http_ready(url: str, cafile: Path | None = None) -> Readiness:
    return Readiness("http", url, str(cafile) if cafile else "")


def unix_socket_ready(path: Path) -> Readiness:
    return Readiness("unix", str(path))


@dataclass(frozen=True)
class DaemonSpec:
    name: str  # "registry", "controlplane", "node1/runtime", ...
    argv: tuple[str, ...]
    netns: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Readiness | None = None
    ready_timeout: float = 60.0
    stop_grace: float = 10.0


@dataclass(frozen=True)
class DaemonStatus:
    name: str
    pid: int | None
    state: str  # running | restarting | stopping | stopped | failed | inactive | dead
    log: str
    restarts: int = 0  # automatic restarts by the supervisor
    last_exit: LastExit | None = None
    reason: str = ""  # why it does not run, e.g. start-limit-hit

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "pid": self.pid, "state": self.state, "log": self.log,
                "restarts": self.restarts, "reason": self.reason,
                "last_exit": None if self.last_exit is None else self.last_exit.to_json()}


def unit_of(spec: DaemonSpec) -> Unit:
    """The supervisor's unit for `spec` (wanted running, no request yet)."""
    return Unit(spec.name, spec.argv, spec.netns, dict(spec.env), spec.stop_grace,
                ready=None if spec.ready is None else spec.ready.to_json(),
                ready_timeout=spec.ready_timeout)


class DaemonFailed(NodelabError):
    pass


class Supervisor:
    """The lab's daemons, run by the lab supervisor process (supervision/): `start` asks it to
    start one and waits until it is ready; `request` asks it to stop, start or restart one;
    `stop` ends one directly (only for `down`, after supervision has stopped)."""

    def __init__(self, lab: str, paths: LabPaths, ledger: Ledger) -> None:
        self.lab = lab
        self.paths = paths
        self.ledger = ledger

    def status(self, name: str) -> DaemonStatus:
        process = read_pidfile(self.paths.pidfile(name))
        log = str(self.paths.log(name))
        alive = process is not None and process.alive()
        reported = read_state(self.paths, name)
        if reported is None:  # not a supervised daemon (or the supervisor itself)
            state = "stopped" if process is None else "running" if alive else "dead"
            return DaemonStatus(name, process.pid if process else None, state, log)
        state = reported.state
        if state in ("running", "stopping") and not alive:
            state = "dead"  # the supervisor is gone and so is the process
        return DaemonStatus(name, process.pid if alive and process else None, state, log,
                            reported.restarts, reported.last_exit, reported.reason)

    def start(self, spec: DaemonSpec, progress: Callable[[str], None] | None = None) -> None:
        """Have the supervisor start `spec` unless it already runs, then wait until it is
        ready. Also starts the supervisor when none runs."""
        ensure_supervisor(self.lab, self.paths, self.ledger)
        self.ledger.record(Entry("daemon", spec.name, spec.netns or "",
                                 str(self.paths.pidfile(spec.name))))
        unit = unit_of(spec)
        started = self._carry_out(spec.name, "start", unit)
        self._wait_ready(unit, started, progress)

    def restart_with(self, spec: DaemonSpec) -> DaemonStatus:
        """Replace the daemon's unit by `spec` and have the supervisor restart it with that
        command (what editing a static pod's manifest does); wait until it is ready."""
        unit = unit_of(spec)
        started = self._carry_out(spec.name, "restart", unit)
        self._wait_ready(unit, started)
        return self.status(spec.name)

    def _wait_ready(self, unit: Unit, started: UnitState,
                    progress: Callable[[str], None] | None = None) -> None:
        """Wait until the daemon's readiness check passes; fail with the end of its log if
        the process the supervisor started exits first."""
        if unit.ready is None:
            return
        ready = Readiness.from_json(unit.ready)
        if progress:
            progress(f"waiting for {unit.name}: {ready.description}")
        log_path = self.paths.log(unit.name)
        deadline = time.monotonic() + unit.ready_timeout
        while time.monotonic() < deadline:
            if ready.check():
                return
            process = read_pidfile(self.paths.pidfile(unit.name))
            if started.pid is None or process is None or process.pid != started.pid \
                    or not process.alive():
                raise DaemonFailed(
                    f"{unit.name} exited before it was ready (the supervisor restarts it; "
                    f"`nodelab status --name {self.lab}` shows how it goes); its log "
                    f"({log_path}) ends with:\n{tail(log_path)}"
                )
            time.sleep(0.1)
        raise DaemonFailed(
            f"{unit.name} was not ready after {unit.ready_timeout:.0f}s "
            f"({ready.description}); its log ({log_path}) ends with:\n{tail(log_path)}"
        )

    def request(self, name: str, action: Action) -> DaemonStatus:
        """Ask the supervisor to `start`, `stop` or `restart` the daemon `name` (as
        `systemctl`), and wait until it is done (a started daemon: until it is ready); a
        stopped daemon stays stopped until started. Returns its status."""
        state = self._carry_out(name, action)
        unit = read_unit(self.paths, name)
        if action != "stop" and unit is not None:
            self._wait_ready(unit, state)
        return self.status(name)

    def _carry_out(self, name: str, action: Action, unit: Unit | None = None) -> UnitState:
        request = ask(self.paths, name, action, unit)
        timeout = START_TIMEOUT + (unit or read_unit(self.paths, name) or Unit(name, ())).stop_grace
        state = wait_done(self.lab, self.paths, name, request, timeout)
        if action != "stop" and state.state == "failed":
            raise DaemonFailed(f"{name} could not be started ({state.reason}); its log "
                               f"({self.paths.log(name)}) ends with:\n"
                               f"{tail(self.paths.log(name))}")
        return state

    def stop(self, names: Sequence[str], grace: float = 10.0) -> None:
        """End these daemons directly, all at once: TERM to each, one shared wait of up to
        `grace` seconds, then KILL (for `down`, once supervision stopped; one at a time, each
        Python daemon's exit took ~0.5 s of every `down`)."""
        processes = [read_pidfile(self.paths.pidfile(name)) for name in names]
        terminate_all([process for process in processes if process is not None], grace)
        for name in names:
            self.paths.pidfile(name).unlink(missing_ok=True)
