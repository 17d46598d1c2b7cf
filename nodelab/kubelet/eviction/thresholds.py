"""Eviction signals, thresholds, and the node conditions they raise.

A kubelet watches a few *signals* and compares each with a *threshold*:

| signal              | measured as (nodelab)                                | condition      |
|---------------------|------------------------------------------------------|----------------|
| memory.available    | capacity - working set of the node's cgroup          | MemoryPressure |
| nodefs.available    | statvfs(state dir) free blocks for unprivileged users | DiskPressure   |
| nodefs.inodesFree   | statvfs(state dir) free inodes                       | DiskPressure   |
| imagefs.available   | CRI ImageFsInfo's filesystem, else the nodefs        | DiskPressure   |
| imagefs.inodesFree  | as above, inodes                                     | DiskPressure   |
| pid.available       | kernel.pid_max minus the processes running           | PIDPressure    |

A threshold is `signal<quantity` or `signal<percent%` (of the signal's capacity); upstream's
default hard thresholds are in `config.DEFAULT_EVICTION_HARD`. Once a threshold is met, the
condition it maps to stays True until no threshold of it has been met for
`evictionPressureTransitionPeriod` (5 min upstream): that damping is `active_conditions`.
Everything here is pure: `Observations` in, conditions and met thresholds out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.kube.quantities import parse_quantity

SIGNAL_CONDITION = {
    "memory.available": "MemoryPressure",
    "nodefs.available": "DiskPressure",
    "nodefs.inodesFree": "DiskPressure",
    "imagefs.available": "DiskPressure",
    "imagefs.inodesFree": "DiskPressure",
    "pid.available": "PIDPressure",
}
SIGNAL_RESOURCE = {
    "memory.available": "memory",
    "nodefs.available": "ephemeral-storage",
    "nodefs.inodesFree": "inodes",
    "imagefs.available": "ephemeral-storage",
    "imagefs.inodesFree": "inodes",
    "pid.available": "pids",
}


@dataclass(frozen=True)
class Observation:
    """One measured signal: what is available out of what capacity."""

    available: int
    capacity: int


Observations = Mapping[str, Observation]


@dataclass(frozen=True)
class Threshold:
    """`signal < value`, the value absolute (bytes/count) or a percentage of capacity."""

    signal: str
    quantity: int | None = None
    percentage: float | None = None

    @classmethod
    def parse(cls, signal: str, text: str) -> Threshold:
        if signal not in SIGNAL_CONDITION:
            known = ", ".join(SIGNAL_CONDITION)
            raise NodelabError(f"unknown eviction signal {signal!r}: use one of {known}")
        text = text.strip().lstrip("<").strip()
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError as exc:
                raise NodelabError(f"invalid eviction threshold {signal}<{text}") from exc
            return cls(signal, percentage=percent / 100.0)
        return cls(signal, quantity=parse_quantity(text))

    def value(self, capacity: int) -> int:
        """The threshold in units of the signal, for a signal of `capacity`."""
        if self.quantity is not None:
            return self.quantity
        return int(capacity * (self.percentage or 0.0))

    def describe(self) -> str:
        if self.quantity is not None:
            return f"{self.signal}<{self.quantity}"
        return f"{self.signal}<{(self.percentage or 0.0) * 100:g}%"


def parse_thresholds(spec: Mapping[str, str]) -> list[Threshold]:
    return [Threshold.parse(signal, value) for signal, value in spec.items()]


def thresholds_met(thresholds: list[Threshold], observed: Observations) -> list[Threshold]:
    """The thresholds whose signal is below them now (unobserved signals never meet one)."""
    met = []
    for threshold in thresholds:
        obs = observed.get(threshold.signal)
        if obs is not None and obs.available < threshold.value(obs.capacity):
            met.append(threshold)
    return met


def conditions_of(met: list[Threshold]) -> set[str]:
    return {SIGNAL_CONDITION[t.signal] for t in met}


def remember_conditions(
    last_observed: Mapping[str, float], now_pressure: set[str], now: float
) -> dict[str, float]:
    """When each pressure condition was last observed, with `now` for those seen now."""
    updated = dict(last_observed)
    for condition in now_pressure:
        updated[condition] = now
    return updated


def active_conditions(
    last_observed: Mapping[str, float], now: float, transition_period: float
) -> set[str]:
    """Conditions still True: observed within the pressure transition period."""
    return {c for c, at in last_observed.items() if now - at < transition_period}


def hard_eviction_reservation(thresholds: list[Threshold], capacity: Mapping[str, int]) -> dict[
    str, int
]:
    """What the hard thresholds hold back from allocatable (memory, ephemeral-storage)."""
    reserved: dict[str, int] = {}
    for threshold in thresholds:
        if threshold.signal == "memory.available":
            reserved["memory"] = threshold.value(capacity.get("memory", 0))
        elif threshold.signal == "nodefs.available":
            reserved["ephemeral-storage"] = threshold.value(capacity.get("ephemeral-storage", 0))
    return reserved
