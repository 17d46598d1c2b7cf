"""The files through which the lab talks to its supervisor, one set per daemon in `run/`.

- `<daemon>.unit.json`, written by the clients (`up`, `join`, `nodelab daemon`): the command
  (argv, netns, environment), the wanted state (`running` or `stopped`) and the latest
  request (`start`, `stop` or `restart`, with an id);
- `<daemon>.state.json`, written by the supervisor: its state (`running`, `restarting`,
  `stopping`, `stopped`, `failed`, `inactive`), restarts, the last exit (code or signal, time,
  how long it ran), the id of the last request it carried out;
- `<daemon>.pid`, written by the supervisor: PID, start time and argv of the running process.

Every file is replaced in one step (`write_atomic`), so a crash, `kill -9` or a full filesystem
never leaves a torn one. Files on disk are the whole protocol: a request survives the
supervisor's death and is carried out by the next one, and `nodelab status` reads the same
files as the supervisor. A client wakes the supervisor with SIGHUP after writing a unit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nodelab.host.files import write_atomic
from nodelab.lab.paths import LabPaths

Want = Literal["running", "stopped"]
Action = Literal["start", "stop", "restart"]
ACTIONS: tuple[Action, ...] = ("start", "stop", "restart")
SUPERVISOR = "supervisor"  # the supervisor's own pidfile and log: run/supervisor.pid


@dataclass(frozen=True)
class Request:
    action: Action
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class Unit:
    """How to run one daemon, and what is wanted of it."""

    name: str  # "registry", "controlplane", "node1/kubelet", ...
    argv: tuple[str, ...]
    netns: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stop_grace: float = 10.0
    want: Want = "running"
    request: Request | None = None
    ready: Mapping[str, str] | None = None  # daemons.Readiness as data: what clients wait for
    ready_timeout: float = 60.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "argv": list(self.argv), "netns": self.netns,
                "env": dict(self.env), "stop_grace": self.stop_grace, "want": self.want,
                "ready": None if self.ready is None else dict(self.ready),
                "ready_timeout": self.ready_timeout,
                "request": None if self.request is None else
                {"action": self.request.action, "id": self.request.id}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Unit:
        request = data.get("request")
        want = data.get("want", "running")
        if want not in ("running", "stopped"):
            raise ValueError(f"unknown wanted state {want!r}")
        return cls(str(data["name"]), tuple(str(a) for a in data["argv"]),
                   data.get("netns") or None,
                   {str(k): str(v) for k, v in (data.get("env") or {}).items()},
                   float(data.get("stop_grace", 10.0)), want,
                   None if not request else Request(request["action"], str(request["id"])),
                   data.get("ready") or None, float(data.get("ready_timeout", 60.0)))


@dataclass(frozen=True)
class LastExit:
    status: str  # "signal 9 (SIGKILL)", "exit code 1", ...
    code: int | None
    signal: int | None
    at: str  # RFC 3339
    ran_for: float  # seconds

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "signal": self.signal, "at": self.at,
                "ran_for": self.ran_for}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LastExit:
        return cls(str(data["status"]), data.get("code"), data.get("signal"), str(data["at"]),
                   float(data.get("ran_for", 0.0)))


@dataclass(frozen=True)
class UnitState:
    """What the supervisor reports about one daemon."""

    name: str
    state: str  # running | restarting | stopped | failed | inactive
    pid: int | None = None
    restarts: int = 0
    last_exit: LastExit | None = None
    reason: str = ""  # why it is not running (e.g. start-limit-hit), or when it restarts
    handled: str = ""  # the id of the last request carried out

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "pid": self.pid,
                "restarts": self.restarts, "reason": self.reason, "handled": self.handled,
                "last_exit": None if self.last_exit is None else self.last_exit.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UnitState:
        last = data.get("last_exit")
        return cls(str(data["name"]), str(data["state"]), data.get("pid"),
                   int(data.get("restarts", 0)), None if not last else LastExit.from_json(last),
                   str(data.get("reason", "")), str(data.get("handled", "")))


def _stem(paths: LabPaths, name: str) -> Path:
    return paths.run / name.replace("/", "-")


def unit_path(paths: LabPaths, name: str) -> Path:
    return _stem(paths, name).with_name(_stem(paths, name).name + ".unit.json")


def state_path(paths: LabPaths, name: str) -> Path:
    return _stem(paths, name).with_name(_stem(paths, name).name + ".state.json")


def write_unit(paths: LabPaths, unit: Unit) -> None:
    write_atomic(unit_path(paths, unit.name), json.dumps(unit.to_json(), indent=1) + "\n")


def write_state(paths: LabPaths, state: UnitState) -> None:
    write_atomic(state_path(paths, state.name), json.dumps(state.to_json(), indent=1) + "\n")


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def read_unit(paths: LabPaths, name: str) -> Unit | None:
    data = _load(unit_path(paths, name))
    try:
        return None if data is None else Unit.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def read_state(paths: LabPaths, name: str) -> UnitState | None:
    data = _load(state_path(paths, name))
    try:
        return None if data is None else UnitState.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None


def all_units(paths: LabPaths) -> list[Unit]:
    """Every unit the lab has, in name order (an unreadable file is skipped)."""
    if not paths.run.is_dir():
        return []
    found = []
    for path in sorted(paths.run.glob("*.unit.json")):
        data = _load(path)
        try:
            if data is not None:
                found.append(Unit.from_json(data))
        except (KeyError, TypeError, ValueError):
            continue
    return found
