"""What the lab supervisor does when a daemon exits: a pure function of the daemon's history.

Modelled on systemd's service restart logic, as a real node runs the kubelet and the container
runtime (`Restart=always`, kubeadm's unit):

- `Restart=always`: every exit is followed by a restart, unless the daemon was stopped on
  request;
- `RestartSec=`: `restart_sec` (0.2 s), the delay before the first restart;
- `RestartSteps=`, `RestartMaxDelaySec=`: `steps`, `max_delay` (10 s): each consecutive
  restart waits longer, geometrically, up to the cap;
- `StartLimitIntervalSec=`, `StartLimitBurst=`: `start_limit_interval` (60 s),
  `start_limit_burst` (8): more starts than that within the interval and the daemon is
  `failed` (`start-limit-hit`) and stays down.

Where it differs from systemd: a run that lasted `reset_after` seconds (10 s) resets the
growing delay (systemd resets it only on a manual start; the kubelet's CrashLoopBackOff resets
after a quiet period in the same way), and an explicit start or restart (`nodelab up`,
`nodelab daemon start|restart`) is also a `systemctl reset-failed`: it clears the start limit.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class RestartPolicy:
    restart_sec: float = 0.2
    max_delay: float = 10.0
    steps: int = 6  # restarts over which the delay grows from restart_sec to max_delay
    start_limit_interval: float = 60.0
    start_limit_burst: int = 8
    reset_after: float = 10.0  # a run at least this long resets the growing delay


@dataclass(frozen=True)
class History:
    """What the decision needs to remember about one daemon (monotonic seconds)."""

    starts: tuple[float, ...] = ()  # start times still inside the start-limit window
    consecutive: int = 0  # automatic restarts since the last long run or explicit start
    restarts: int = 0  # automatic restarts in all (what `nodelab status` shows)


@dataclass(frozen=True)
class Decision:
    action: Literal["restart", "stay-stopped", "fail"]
    delay: float  # seconds before the restart (restart only)
    reason: str
    history: History


def restart_delay(consecutive: int, policy: RestartPolicy) -> float:
    """The delay before restart number `consecutive` + 1 in a row: `restart_sec`, growing
    geometrically to `max_delay` over `steps` restarts (systemd's RestartSteps), then flat."""
    if policy.steps <= 0 or policy.max_delay <= policy.restart_sec:
        return policy.restart_sec
    step = min(consecutive, policy.steps)
    ratio: float = (policy.max_delay / policy.restart_sec) ** (step / policy.steps)
    return round(min(policy.restart_sec * ratio, policy.max_delay), 3)


def record_start(history: History, now: float, policy: RestartPolicy) -> History:
    """`history` after the daemon was started at `now` (the start-limit window slides)."""
    recent = tuple(t for t in history.starts if now - t < policy.start_limit_interval)
    return replace(history, starts=(*recent, now))


def explicit_start(history: History) -> History:
    """A start or restart someone asked for: the growing delay and the start limit begin
    again (systemctl reset-failed + start); the restart count stays."""
    return History(restarts=history.restarts)


def after_exit(history: History, ran_for: float, stop_requested: bool, now: float,
               policy: RestartPolicy) -> Decision:
    """What to do when a daemon that ran `ran_for` seconds exits at `now`."""
    if stop_requested:
        return Decision("stay-stopped", 0.0, "stopped on request", history)
    consecutive = 0 if ran_for >= policy.reset_after else history.consecutive
    recent = tuple(t for t in history.starts if now - t < policy.start_limit_interval)
    if len(recent) >= policy.start_limit_burst:
        return Decision(
            "fail", 0.0,
            f"start-limit-hit: started {len(recent)} times within "
            f"{policy.start_limit_interval:g}s (start it again with `nodelab daemon start` "
            "or `nodelab up`)",
            replace(history, starts=recent, consecutive=consecutive))
    delay = restart_delay(consecutive, policy)
    return Decision("restart", delay, f"restart in {delay:g}s",
                    History(recent, consecutive + 1, history.restarts + 1))


@dataclass(frozen=True)
class ExitStatus:
    """How a run ended: an exit code, a signal, or unknown (a daemon the supervisor adopted
    from an earlier supervisor is not its child, so the kernel tells it no status)."""

    code: int | None = None
    signal: int | None = None

    @classmethod
    def of_returncode(cls, returncode: int | None) -> ExitStatus:
        """From `Popen.returncode` (negative: killed by that signal)."""
        if returncode is None:
            return cls()
        return cls(signal=-returncode) if returncode < 0 else cls(code=returncode)

    def describe(self) -> str:
        if self.signal is not None:
            try:
                name = signal.Signals(self.signal).name
            except ValueError:
                name = "unknown signal"
            return f"signal {self.signal} ({name})"
        if self.code is not None:
            return f"exit code {self.code}"
        return "exit status unknown (started by an earlier supervisor)"
