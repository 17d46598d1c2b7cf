"""The pod's life (syncing, terminating, terminated) and the image pull decision: tables."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.backoff import Backoff, ContainerMemory
from nodelab.kubelet.pods.images.pull_policy import decide_pull, pull_policy
from nodelab.kubelet.pods.lifecycle import (
    Event,
    PodLife,
    Stage,
    deletion_grace,
    events_of,
    next_life,
)

pytestmark = pytest.mark.unit
SYNCING = PodLife()
STARTED = "2026-01-01T00:00:00Z"
T0 = 1767225600.0  # STARTED as seconds


def _pod(phase: str = "Running", deadline: int | None = None, deleting: bool = False,
         grace: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = STARTED
    if grace is not None:
        meta["deletionGracePeriodSeconds"] = grace
    spec: dict[str, Any] = {"containers": [], "terminationGracePeriodSeconds": 20}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"metadata": meta, "spec": spec, "status": {"phase": phase, "startTime": STARTED}}


@pytest.mark.parametrize(("life", "event", "grace", "after"), [
    # syncing -> terminating, each with its kill's grace period
    (SYNCING, Event.DELETED, 5, PodLife(Stage.TERMINATING, "Deleted", 5, deleted=True)),
    (SYNCING, Event.EVICTED, None, PodLife(Stage.TERMINATING, "Evicted", 0)),
    (SYNCING, Event.DEADLINE_EXCEEDED, None, PodLife(Stage.TERMINATING, "DeadlineExceeded", 0)),
    (SYNCING, Event.FINISHED, None, PodLife(Stage.TERMINATING, "Finished", None)),
    # terminating: a deletion is noted (with the shorter grace); the rest changes nothing
    (PodLife(Stage.TERMINATING, "Deleted", 30, True), Event.DELETED, 0,
     PodLife(Stage.TERMINATING, "Deleted", 0, True)),
    (PodLife(Stage.TERMINATING, "Evicted", 0), Event.FINISHED, None,
     PodLife(Stage.TERMINATING, "Evicted", 0)),
    (PodLife(Stage.TERMINATING, "Finished"), Event.DELETED, 3,
     PodLife(Stage.TERMINATING, "Finished", 3, True)),
    # terminating -> terminated once killed
    (PodLife(Stage.TERMINATING, "Evicted", 0), Event.KILLED, None,
     PodLife(Stage.TERMINATED, "Evicted", 0)),
    (SYNCING, Event.KILLED, None, SYNCING),
    # terminated: stays until deleted, then finishes once removed
    (PodLife(Stage.TERMINATED, "Evicted", 0), Event.EVICTED, None,
     PodLife(Stage.TERMINATED, "Evicted", 0)),
    (PodLife(Stage.TERMINATED, "Evicted", 0), Event.REMOVED, None,
     PodLife(Stage.TERMINATED, "Evicted", 0)),
    (PodLife(Stage.TERMINATED, "Evicted", 0), Event.DELETED, 30,
     PodLife(Stage.TERMINATED, "Evicted", 0, deleted=True)),
    (PodLife(Stage.TERMINATED, "Deleted", 5, True), Event.REMOVED, None,
     PodLife(Stage.TERMINATED, "Deleted", 5, True, finished=True)),
])
def test_life_moves_forward_only(life: PodLife, event: Event, grace: int | None,
                                 after: PodLife) -> None:
    assert next_life(life, event, grace) == after


@pytest.mark.parametrize(("pod", "now", "events"), [
    (None, T0, [Event.DELETED]),  # gone from the API
    (_pod(deleting=True), T0, [Event.DELETED]),
    (_pod("Succeeded"), T0, [Event.FINISHED]),
    (_pod("Failed", deleting=True), T0, [Event.DELETED]),
    (_pod("Failed"), T0, [Event.FINISHED]),
    (_pod(deadline=60), T0 + 60, []),  # activeDeadlineSeconds: not yet
    (_pod(deadline=60), T0 + 61, [Event.DEADLINE_EXCEEDED]),
    (_pod("Pending"), T0 + 10**6, []),
])
def test_what_the_pod_object_says(pod: dict[str, Any] | None, now: float,
                                  events: list[Event]) -> None:
    assert events_of(pod, now) == events


@pytest.mark.parametrize(("pod", "grace"), [
    (None, None), (_pod(deleting=True), 20), (_pod(deleting=True, grace=3), 3),
])
def test_a_deletion_grace_period(pod: dict[str, Any] | None, grace: int | None) -> None:
    assert deletion_grace(pod) == grace


# --- image pull policy -----------------------------------------------------------------------

@pytest.mark.parametrize(("image", "policy", "expected"), [
    ("busybox", None, "Always"), ("busybox:latest", None, "Always"),
    ("reg:5000/busybox", None, "Always"), ("reg:5000/busybox:1.36", None, "IfNotPresent"),
    ("busybox@sha256:ab", None, "IfNotPresent"), ("busybox", "Never", "Never"),
])
def test_the_default_pull_policy(image: str, policy: str | None, expected: str) -> None:
    container = {"image": image} | ({"imagePullPolicy": policy} if policy else {})
    assert pull_policy(container) == expected


@pytest.mark.parametrize(("policy", "present", "step", "waiting", "events"), [
    ("IfNotPresent", True, "use", "", ["Pulled"]),  # "already present on machine"
    ("IfNotPresent", False, "pull", "", ["Pulling"]),
    ("Always", True, "pull", "", ["Pulling"]),  # at every start, a restart too
    ("Always", False, "pull", "", ["Pulling"]),
    ("Never", True, "use", "", ["Pulled"]),
    ("Never", False, "never", "ErrImageNeverPull", []),
])
def test_pull_decisions(policy: str, present: bool, step: str, waiting: str,
                        events: list[str]) -> None:
    container = {"name": "app", "image": "busybox:1.36", "imagePullPolicy": policy}
    decision = decide_pull(container, present, ContainerMemory(), T0)
    assert (decision.step, decision.waiting[0]) == (step, waiting)
    assert [e[0] for e in decision.events] == events


@pytest.mark.parametrize(("waiting", "not_before", "step", "events"), [
    ("ErrImagePull", T0 + 5, "backoff", ["BackOff", "Failed"]),  # first sync of the wait
    ("ImagePullBackOff", T0 + 5, "backoff", []),
    ("ImagePullBackOff", T0 - 1, "pull", ["Pulling"]),  # over: pull again
    ("CrashLoopBackOff", T0 + 5, "pull", ["Pulling"]),  # not a pull's backoff
])
def test_a_failed_pull_backs_off(waiting: str, not_before: float, step: str,
                                 events: list[str]) -> None:
    memory = ContainerMemory(backoff=Backoff(10, not_before), waiting=(waiting, ""))
    decision = decide_pull({"name": "app", "image": "nope:1"}, False, memory, T0)
    assert decision.step == step
    assert [e[0] for e in decision.events] == events
    if step == "backoff":
        assert decision.waiting == ("ImagePullBackOff", 'Back-off pulling image "nope:1"')
