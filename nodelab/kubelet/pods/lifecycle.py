"""A pod's life on this node: syncing, terminating, terminated (upstream's pod_workers.go).

- **syncing**: the worker drives the pod toward its spec (`actions.py`).
- **terminating**: the pod is to stop: it was deleted (or is gone from the API), the evictor
  evicted it, it ran past `activeDeadlineSeconds`, or its phase is Succeeded or Failed. The
  worker kills it: running containers get the stop signal and, after the grace period, SIGKILL
  (preStop hooks first when there is a grace period); its sandboxes are stopped. Nothing is
  started any more, and no status is posted over the terminal one.
- **terminated**: nothing of the pod runs; its containers and sandboxes stay for `kubectl
  logs` and `describe` until the pod is deleted. Then the worker removes them, tears down the
  volumes, deletes the Pod object and is `finished`.

Life only moves forward. `next_life(life, event)` is the whole transition table; `events_of(pod,
now)` says what the Pod object tells a sync (the evictor's `Evicted` comes from another thread).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nodelab.kubewire.times import parse_time

DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


class Stage(enum.Enum):
    SYNCING = "syncing"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class Event(enum.Enum):
    DELETED = "Deleted"  # a deletionTimestamp, or the pod is gone from the API
    EVICTED = "Evicted"
    DEADLINE_EXCEEDED = "DeadlineExceeded"
    FINISHED = "Finished"  # phase Succeeded or Failed
    KILLED = "Killed"  # the worker stopped every container and sandbox
    REMOVED = "Removed"  # the worker removed them and deleted the Pod object


@dataclass(frozen=True)
class PodLife:
    stage: Stage = Stage.SYNCING
    reason: str = ""  # why it terminates: an Event's value
    grace: int | None = None  # the kill's grace period (None: the pod's own)
    deleted: bool = False  # deletion was asked: once terminated, remove everything
    finished: bool = False  # removed: the worker is done

    @property
    def syncing(self) -> bool:
        return self.stage is Stage.SYNCING


def next_life(life: PodLife, event: Event, grace: int | None = None) -> PodLife:
    """The life after `event` (`grace`: a deletion's grace period)."""
    if event is Event.DELETED:
        if life.stage is Stage.SYNCING:
            return PodLife(Stage.TERMINATING, event.value, grace, deleted=True)
        shorter = grace if life.grace is None or (grace is not None and grace < life.grace) \
            else life.grace
        return replace(life, deleted=True, grace=shorter)
    if event in (Event.EVICTED, Event.DEADLINE_EXCEEDED, Event.FINISHED):
        if life.stage is not Stage.SYNCING:
            return life
        return PodLife(Stage.TERMINATING, event.value, None if event is Event.FINISHED else 0)
    if event is Event.KILLED:
        return replace(life, stage=Stage.TERMINATED) if life.stage is Stage.TERMINATING \
            else life
    if event is Event.REMOVED and life.stage is Stage.TERMINATED and life.deleted:
        return replace(life, finished=True)
    return life


def deadline_exceeded(pod: Mapping[str, Any], now: float) -> bool:
    """activeDeadlineSeconds: the pod may run that long after its startTime, then fails."""
    deadline = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    started = parse_time((pod.get("status") or {}).get("startTime"))
    if deadline is None or started is None:
        return False
    return now - started.timestamp() > int(deadline)


def deletion_grace(pod: Mapping[str, Any] | None) -> int | None:
    """The grace period of a deletion: the request's, else the pod's; None for a pod gone from
    the API (each container's own then: termination.kill_pod)."""
    if pod is None:
        return None
    spec = pod.get("spec") or {}
    return int(pod["metadata"].get("deletionGracePeriodSeconds",
                                   spec.get("terminationGracePeriodSeconds", 30)))


def events_of(pod: Mapping[str, Any] | None, now: float) -> list[Event]:
    """What the Pod object (None: gone from the API) says about the pod's life."""
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return [Event.DELETED]
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return [Event.FINISHED]
    if deadline_exceeded(pod, now):
        return [Event.DEADLINE_EXCEEDED]
    return []
