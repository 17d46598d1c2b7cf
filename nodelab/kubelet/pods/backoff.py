"""The CrashLoopBackOff delay of a container, and what the kubelet remembers between syncs.

Upstream's kubelet keeps one `flowcontrol.Backoff` entry per container: the first restart
waits `initial` (10 s), each further one twice as long up to `max` (300 s, or the kubelet's
`crashLoopBackOff.maxContainerRestartPeriod`), and a container that ran longer than `reset`
(10 minutes) starts again from `initial`. A restart waits the delay counted from the
container's exit (`restart_not_before`). Image pulls that fail back off on the same entry.
While a container waits, its status says `CrashLoopBackOff` with upstream's message, and a
`BackOff` event is recorded once per waiting period.

Times are wall-clock seconds (`time.time()`), as upstream's backoff clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nodelab.kubelet.pods.probes.probes import ProbeTracker


@dataclass(frozen=True)
class BackoffSettings:
    initial: float = 10.0
    max: float = 300.0
    reset: float = 600.0
    resync: float = 1.0  # a sync's period: the BackOff event is recorded in the first one


@dataclass(frozen=True)
class Backoff:
    delay: float = 0.0  # the delay the last restart (or failed pull) set; 0 before any
    not_before: float = 0.0  # no restart (or pull) before this time


def next_backoff(current: Backoff, now: float, settings: BackoffSettings) -> Backoff:
    """The backoff after one more restart (or failed pull) at `now`: double, up to the cap."""
    delay = settings.initial if current.delay == 0 else min(current.delay * 2, settings.max)
    return Backoff(delay, now + delay)


def in_backoff(backoff: Backoff, now: float) -> bool:
    return backoff.not_before > now


def restart_not_before(backoff: Backoff, finished: float) -> float:
    """When a container that exited at `finished` (0: unknown) may restart: `delay` after its
    exit, as upstream's IsInBackOffSince(finishedAt); else the backoff's own time."""
    return finished + backoff.delay if finished else backoff.not_before


def backoff_event_due(until: float, backoff: Backoff, now: float,
                      settings: BackoffSettings) -> bool:
    """True in the first sync of a waiting period that ends at `until` (one BackOff event per
    period)."""
    return until - now > backoff.delay - settings.resync


def crash_loop_message(backoff: Backoff, container: str, pod: str, namespace: str,
                       uid: str) -> str:
    """Upstream's waiting message, e.g. `back-off 10s restarting failed container=app
    pod=web_default(uid)`."""
    return (f"back-off {backoff.delay:.0f}s restarting failed container={container} "
            f"pod={pod}_{namespace}({uid})")


@dataclass
class ContainerMemory:
    """What the kubelet remembers about a container between syncs (it is not in CRI)."""

    backoff: Backoff = field(default_factory=Backoff)
    probes: dict[str, ProbeTracker] = field(default_factory=dict)
    probed_instance: str = ""
    ready: bool = False
    started: bool = False
    waiting: tuple[str, str] = ("", "")  # (reason, message) shown while not running
