"""Supervising a lab's long-running processes (the registry, control plane and node daemons).

A daemon is started detached (its own session, stdin closed, output appended to its log file),
inside its node's network namespace when it has one (`nsenter --net`, which keeps the PID), with
`NODELAB_LAB=<lab>` in its environment and the lab's own `tmp/` as its TMPDIR. Its pidfile
holds the PID *and* the start time, so `stop` ends exactly that process (TERM, then KILL after
the grace period) and never a stranger that reused the PID. `start` of a daemon that already
runs does nothing; `start` waits until the daemon's readiness check passes, and fails with the
end of its log if it dies first.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.netlink import in_netns_argv
from nodelab.host.processes import LAB_ENV, ProcessId, terminate
from nodelab.lab.ledger import Entry, Ledger
from nodelab.lab.paths import LabPaths


@dataclass(frozen=True)
class Readiness:
    """A named check that answers True once the daemon serves."""

    description: str
    check: Callable[[], bool]


def tcp_ready(host: str, port: int) -> Readiness:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return Readiness(f"TCP {host}:{port} accepts connections", check)


def http_ready(url: str, context: ssl.SSLContext | None = None) -> Readiness:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0, context=context) as response:
                return bool(200 <= response.status < 300)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return Readiness(f"GET {url} answers 2xx", check)


def unix_socket_ready(path: Path) -> Readiness:
    def check() -> bool:
        if not path.exists():
            return False
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(path))
                return True
            except OSError:
                return False

    return Readiness(f"unix socket {path} accepts connections", check)


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
    state: str  # "running" | "stopped" | "dead" (pidfile left by a process that is gone)
    log: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "pid": self.pid, "state": self.state, "log": self.log}


class DaemonFailed(NodelabError):
    pass


class Supervisor:
    def __init__(self, lab: str, paths: LabPaths, ledger: Ledger) -> None:
        self.lab = lab
        self.paths = paths
        self.ledger = ledger

    def _read_pidfile(self, name: str) -> ProcessId | None:
        try:
            data = json.loads(self.paths.pidfile(name).read_text())
            return ProcessId(int(data["pid"]), int(data["start_time"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def status(self, name: str) -> DaemonStatus:
        process = self._read_pidfile(name)
        log = str(self.paths.log(name))
        if process is None:
            return DaemonStatus(name, None, "stopped", log)
        return DaemonStatus(name, process.pid, "running" if process.alive() else "dead", log)

    def start(self, spec: DaemonSpec, progress: Callable[[str], None] | None = None) -> None:
        """Start `spec` unless it already runs, then wait until it is ready."""
        process = self._read_pidfile(spec.name)
        if process is None or not process.alive():
            process = self._spawn(spec)
        if spec.ready is None:
            return
        if progress:
            progress(f"waiting for {spec.name}: {spec.ready.description}")
        log_path = self.paths.log(spec.name)
        deadline = time.monotonic() + spec.ready_timeout
        while time.monotonic() < deadline:
            if spec.ready.check():
                return
            if not process.alive():
                raise DaemonFailed(
                    f"{spec.name} exited before it was ready; "
                    f"its log ({log_path}) ends with:\n{tail(log_path)}"
                )
            time.sleep(0.1)
        raise DaemonFailed(
            f"{spec.name} was not ready after {spec.ready_timeout:.0f}s "
            f"({spec.ready.description}); its log ({log_path}) ends with:\n{tail(log_path)}"
        )

    def _spawn(self, spec: DaemonSpec) -> ProcessId:
        pidfile = self.paths.pidfile(spec.name)
        self.ledger.record(Entry("daemon", spec.name, spec.netns or "", str(pidfile)))
        self.paths.run.mkdir(parents=True, exist_ok=True)
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        self.paths.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_path = self.paths.log(spec.name)
        env = {**os.environ, "TMPDIR": str(self.paths.tmp), **spec.env, LAB_ENV: self.lab}
        with open(log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {spec.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                in_netns_argv(spec.netns, list(spec.argv)),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        process = ProcessId.of(proc.pid)
        if process is None:
            raise DaemonFailed(f"{spec.name} exited at once: see {log_path}")
        tmp = pidfile.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": process.pid, "start_time": process.start_time,
                                   "argv": list(spec.argv)}))
        tmp.replace(pidfile)
        return process

    def stop(self, name: str, grace: float = 10.0) -> None:
        process = self._read_pidfile(name)
        if process is not None:
            terminate(process, grace)
        self.paths.pidfile(name).unlink(missing_ok=True)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
