"""What the disruption controller decides for one PodDisruptionBudget (upstream's
pkg/controller/disruption/disruption.go), as pure functions of the budget, the pods in its
namespace, the owning workloads and the time.

- **Pods**: those of the namespace the selector matches (a missing selector matches none,
  `{}` every pod, as policy/v1 reads it), whatever their phase.
- **expectedPods and desiredHealthy** (`getExpectedPodCount`): an integer `minAvailable` is
  the desired count and the number of pods the expected one; a percentage `minAvailable` or
  any `maxUnavailable` needs the owners' scale: the sum of `spec.replicas` of every distinct
  controller of the pods (`getExpectedScale`; a ReplicaSet owned by a Deployment counts as the
  Deployment). `desiredHealthy` is the percent of that rounded up, or expected minus
  `maxUnavailable` (rounded up too), never below 0. A pod without a controller is *unmanaged*
  (warned, left out); a controller nodelab cannot scale (a Job, a DaemonSet) is an error.
- **disruptedPods** (`buildDisruptedPodMap`): the eviction API's entries for pods not yet
  being deleted, dropped after `DELETION_TIMEOUT` (2 min) with a `NotDeleted` warning; the
  earliest expiry is when to look again.
- **currentHealthy** (`countHealthyPods`): pods Ready, not being deleted, not in
  disruptedPods.
- **disruptionsAllowed** = currentHealthy - desiredHealthy, 0 when negative or when no pod is
  expected; the `DisruptionAllowed` condition `True`/`SufficientPods` when above 0, else
  `False`/`InsufficientPods`. A budget whose counts cannot be computed gets
  disruptionsAllowed 0 and `False`/`SyncFailed` with the error (`failSafe`).

The status is written only when something changed (`updatePdbStatus`). The second duty here
is upstream's stale-condition cleanup: a pod whose `DisruptionTarget` condition has been True
for 2 minutes while it is not being deleted (an eviction whose delete never happened) gets it
set back to False (`nonTerminatingPodHasStaleDisruptionCondition`).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.disruption_budgets import (
    CONDITION,
    conditions_up_to_date,
    pods_for,
    set_condition,
    update_allowed_condition,
)
from nodelab.kube.intstr import InvalidIntOrString, as_int, scaled_value
from nodelab.kube.label_selectors import go_string
from nodelab.kube.objects import Object, pod_ready
from nodelab.kubewire.times import parse_time

DELETION_TIMEOUT = dt.timedelta(minutes=2)
STALE_POD_DISRUPTION_TIMEOUT = dt.timedelta(minutes=2)
SYNC_FAILED = "SyncFailed"
TERMINATION_BY_KUBELET = "TerminationByKubelet"

# A pod's controller, as upstream's finders find it: (kind, group) -> the kinds whose objects
# nodelab's controllers read; every other served kind goes through the scale subresource.
SCALED_KINDS = {("ReplicationController", ""): "replicationcontrollers",
                ("ReplicaSet", "apps"): "replicasets", ("ReplicaSet", "extensions"): "replicasets",
                ("Deployment", "apps"): "deployments", ("Deployment", "extensions"): "deployments",
                ("StatefulSet", "apps"): "statefulsets"}


class ExpectedCountError(Exception):
    """The expected pod count cannot be computed (upstream's error text)."""


ScaleAnswer = tuple[str, int] | str  # (uid, spec.replicas) of a scale, or why there is none


@dataclass(frozen=True)
class Workloads:
    """The owning workloads by kind (`replicasets`, ...), then (namespace, name); and, for
    owners of any other kind, what their `scale` subresource answered, by (apiVersion, kind,
    namespace, name): (uid, replicas), an error text, or nothing (not found)."""

    objects: Mapping[str, Mapping[tuple[str, str], Object]]
    scales: Mapping[tuple[str, str, str, str], ScaleAnswer] = field(default_factory=dict)

    def get(self, kind: str, namespace: str, name: str) -> Object | None:
        return self.objects.get(kind, {}).get((namespace, name))


@dataclass(frozen=True)
class Event:
    """An event to record on `subject` (`Pod` or `PodDisruptionBudget`)."""

    subject: Object
    kind: str
    type: str
    reason: str
    message: str


@dataclass
class Plan:
    status: Object | None  # the new status to write, None when it is up to date
    events: list[Event] = field(default_factory=list)
    recheck: dt.datetime | None = None  # when a disruptedPods entry expires


def _meta(obj: Object) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def controller_ref(obj: Object) -> Mapping[str, Any] | None:
    return next((ref for ref in _meta(obj).get("ownerReferences") or []
                 if ref.get("controller")), None)


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _replicas(obj: Object) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def controller_scale(ref: Mapping[str, Any], namespace: str,
                     workloads: Workloads) -> tuple[str, int] | None:
    """upstream's finders in order (RC, Deployment via its ReplicaSet, ReplicaSet without a
    Deployment, StatefulSet, then the scale subresource): (uid, replicas) of the controller,
    None when not found; `ExpectedCountError` for a kind that has no scale or is not
    served."""
    kind, group, name = ref.get("kind", ""), api_group(ref.get("apiVersion", "")), ref.get("name")
    uid = ref.get("uid")
    resource = SCALED_KINDS.get((kind, group))
    if resource is not None:
        obj = workloads.get(resource, namespace, str(name))
        if obj is None or _meta(obj).get("uid") != uid:
            return None
        if resource == "replicasets":
            owner = controller_ref(obj)
            if owner is not None and owner.get("kind") == "Deployment":
                if api_group(owner.get("apiVersion", "")) not in ("apps", "extensions"):
                    return None
                deployment = workloads.get("deployments", namespace, str(owner.get("name")))
                if deployment is None or _meta(deployment).get("uid") != owner.get("uid"):
                    return None
                return str(owner.get("uid")), _replicas(deployment)
        return str(uid), _replicas(obj)
    answer = workloads.scales.get((str(ref.get("apiVersion", "")), kind, namespace, str(name)))
    if isinstance(answer, str):
        raise ExpectedCountError(answer)
    if answer is None or answer[0] != uid:
        return None
    return answer


def expected_scale(pods: Sequence[Object], workloads: Workloads) -> tuple[int, list[str]]:
    """`getExpectedScale`: the sum of the distinct controllers' replicas, and the names of
    the pods without a controller."""
    scales: dict[str, int] = {}
    seen: set[str] = set()
    unmanaged: list[str] = []
    for pod in pods:
        ref = controller_ref(pod)
        name = str(_meta(pod).get("name"))
        if ref is None:
            unmanaged.append(name)
            continue
        if ref.get("uid") in seen:
            continue
        found = controller_scale(ref, str(_meta(pod).get("namespace")), workloads)
        if found is None:
            raise ExpectedCountError(f'found no controllers for pod "{name}"')
        seen.add(str(ref.get("uid")))
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def expected_pod_count(pdb: Object, pods: Sequence[Object],
                       workloads: Workloads) -> tuple[int, int, list[str]]:
    """`getExpectedPodCount`: (expectedPods, desiredHealthy, unmanaged pod names)."""
    spec = pdb.get("spec") or {}
    try:
        if spec.get("maxUnavailable") is not None:
            expected, unmanaged = expected_scale(pods, workloads)
            unavailable = scaled_value(spec["maxUnavailable"], expected, True)
            return expected, max(0, expected - unavailable), unmanaged
        minimum = spec.get("minAvailable")
        if minimum is None:
            return 0, 0, []
        if as_int(minimum) is not None:
            return len(pods), int(minimum), []
        expected, unmanaged = expected_scale(pods, workloads)
        return expected, scaled_value(minimum, expected, True), unmanaged
    except InvalidIntOrString as exc:
        raise ExpectedCountError(str(exc)) from exc


def disrupted_pod_map(pdb: Object, pods: Sequence[Object], now: dt.datetime
                      ) -> tuple[dict[str, str], dt.datetime | None, list[Object]]:
    """`buildDisruptedPodMap`: the entries still awaited, the earliest expiry, and the pods
    whose entry expired (they were not deleted)."""
    entries = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: dt.datetime | None = None
    expired: list[Object] = []
    for pod in pods:
        if _meta(pod).get("deletionTimestamp"):
            continue
        name = str(_meta(pod).get("name"))
        when = parse_time(entries.get(name)) if name in entries else None
        if when is None:
            continue
        deadline = when + DELETION_TIMEOUT
        if deadline < now:
            expired.append(pod)
        else:
            recheck = deadline if recheck is None or deadline < recheck else recheck
            kept[name] = entries[name]
    return kept, recheck, expired


def count_healthy(pods: Sequence[Object], disrupted: Mapping[str, str],
                  now: dt.datetime) -> int:
    """`countHealthyPods`: Ready, not being deleted, not about to be (disruptedPods)."""
    healthy = 0
    for pod in pods:
        if _meta(pod).get("deletionTimestamp"):
            continue
        when = parse_time(disrupted.get(str(_meta(pod).get("name"))))
        if when is not None and when + DELETION_TIMEOUT > now:
            continue
        healthy += pod_ready(pod)
    return healthy


def status_for(pdb: Object, current: int, desired: int, expected: int,
               disrupted: dict[str, str], now: dt.datetime) -> Object | None:
    """`updatePdbStatus`: the new status, or None when the stored one already says it."""
    allowed = current - desired
    if expected <= 0 or allowed <= 0:
        allowed = 0
    old = pdb.get("status") or {}
    generation = _meta(pdb).get("generation", 0)
    if (old.get("currentHealthy"), old.get("desiredHealthy"), old.get("expectedPods"),
            old.get("disruptionsAllowed")) == (current, desired, expected, allowed) \
            and (old.get("disruptedPods") or {}) == disrupted \
            and old.get("observedGeneration") == generation and conditions_up_to_date(pdb):
        return None
    status: Object = {"currentHealthy": current, "desiredHealthy": desired,
                      "expectedPods": expected, "disruptionsAllowed": allowed,
                      "observedGeneration": generation,
                      "conditions": copy.deepcopy(old.get("conditions") or [])}
    if disrupted:
        status["disruptedPods"] = dict(disrupted)
    update_allowed_condition(status, now)
    return status


def fail_safe_status(pdb: Object, message: str, now: dt.datetime) -> Object:
    """`failSafe`: whatever went wrong, no eviction is allowed until the next good sync."""
    status = copy.deepcopy(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    set_condition(status.setdefault("conditions", []), {
        "type": CONDITION, "status": "False", "reason": SYNC_FAILED, "message": message,
        "observedGeneration": status.get("observedGeneration", 0)}, now)
    return status


def plan(pdb: Object, namespace_pods: Sequence[Object], workloads: Workloads,
         now: dt.datetime) -> Plan:
    """`trySync` for one budget (with `failSafe` when the counts cannot be computed)."""
    pods = pods_for(pdb, namespace_pods)
    events: list[Event] = []
    if not pods:
        events.append(Event(pdb, "PodDisruptionBudget", "Normal", "NoPods",
                            "No matching pods found"))
    try:
        expected, desired, unmanaged = expected_pod_count(pdb, pods, workloads)
    except ExpectedCountError as exc:
        events.append(Event(pdb, "PodDisruptionBudget", "Warning",
                            "CalculateExpectedPodCountFailed",
                            f"Failed to calculate the number of expected pods: {exc}"))
        return Plan(fail_safe_status(pdb, str(exc), now), events)
    if unmanaged:
        events.append(Event(pdb, "PodDisruptionBudget", "Warning", "UnmanagedPods", (
            "Pods selected by this PodDisruptionBudget (selector: "
            f"{go_string((pdb.get('spec') or {}).get('selector'))}) were found to be "
            "unmanaged. As a result, the status of the PDB cannot be calculated correctly, "
            "which may result in undefined behavior. To account for these pods please set "
            '".spec.minAvailable" field of the PDB to an integer value.')))
    disrupted, recheck, expired = disrupted_pod_map(pdb, pods, now)
    namespace = _meta(pdb).get("namespace")
    for pod in expired:
        # upstream prints the namespace twice (its format string's slip), kept as it is
        events.append(Event(pod, "Pod", "Warning", "NotDeleted",
                            f"Pod was expected by PDB {namespace}/{namespace} to be deleted "
                            "but it wasn't"))
    current = count_healthy(pods, disrupted, now)
    return Plan(status_for(pdb, current, desired, expected, disrupted, now), events, recheck)


def multiple_budgets_event(pod: Object, budgets: Sequence[Object]) -> Event | None:
    """`getPdbForPod`'s warning for a pod that several budgets select."""
    if len(budgets) < 2:
        return None
    meta = _meta(pod)
    return Event(pod, "Pod", "Warning", "MultiplePodDisruptionBudgets",
                 f'Pod "{meta.get("namespace")}"/"{meta.get("name")}" matches multiple '
                 f'PodDisruptionBudgets.  Chose "{_meta(budgets[0]).get("name")}" arbitrarily.')


def stale_disruption_target(pod: Object, now: dt.datetime) -> dt.timedelta | None:
    """`nonTerminatingPodHasStaleDisruptionCondition`: how long until a DisruptionTarget
    condition of a pod not being deleted is stale (0: now), None when there is none to reset
    (the kubelet's own, or a pod that finished)."""
    if _meta(pod).get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    condition = next((c for c in status.get("conditions") or []
                      if c.get("type") == "DisruptionTarget"), None)
    if condition is None or condition.get("status") != "True" \
            or condition.get("reason") == TERMINATION_BY_KUBELET \
            or status.get("phase") in ("Succeeded", "Failed"):
        return None
    since = parse_time(condition.get("lastTransitionTime")) or now
    return max(dt.timedelta(0), STALE_POD_DISRUPTION_TIMEOUT - (now - since))
