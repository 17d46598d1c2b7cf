"""DaemonSets: one pod per eligible node, rolling updates between template revisions, and the
status `kubectl rollout status` reads (upstream's pkg/controller/daemon `manage`,
`rollingUpdate` and `updateDaemonSetStatus`).

- **Manage**: a node that should run a daemon pod and has none gets one (placed by the
  scheduler through its node affinity, daemonset_pods.py); a failed daemon pod is deleted
  (and so replaced); of several running pods on a node the oldest stays (with maxSurge, the
  oldest old and the oldest new one); a node that may no longer run one loses its pods, and
  so do nodes that no longer exist (upstream leaves that to the pod garbage collector). A pod
  still terminating counts as present, so its replacement waits until it is gone.
- **RollingUpdate** (default maxUnavailable 1, maxSurge 0; percentages of the desired number,
  rounded up; both 0 means maxUnavailable 1). Without surge, old pods are deleted while fewer
  than maxUnavailable nodes lack an available pod (old pods that are not available go at
  once), and manage then creates the new ones. With surge, a new pod is started beside an
  old one on up to maxSurge nodes at a time, and the old pod is deleted once the new one is
  available. **OnDelete** changes nothing by itself: new pods use the new template when the
  old ones are deleted by hand.
- **Status**: desiredNumberScheduled, currentNumberScheduled, numberMisscheduled,
  numberReady, numberAvailable, numberUnavailable, updatedNumberScheduled,
  observedGeneration (zero counters omitted, as Go's omitempty).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.controllers.workloads.controllerrevision_plan import HASH_LABEL
from nodelab.controlplane.controllers.workloads.daemonset_pods import (
    available,
    daemon_pod,
    should_run,
    target_node,
)
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by
from nodelab.kube.intstr import scaled_value
from nodelab.kube.objects import ObjectView, pod_ready


@dataclass
class DaemonSetPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (pod, node) deleted as failed
    status: dict[str, Any] = field(default_factory=dict)


def surge_and_unavailable(ds: ObjectView, desired: int) -> tuple[int, int]:
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    # upstream's SurgeCount and UnavailableCount: both rounded up
    surge = scaled_value(rolling.get("maxSurge") or 0, desired, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", 1) or 0, desired, round_up=True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _created(pod: ObjectView) -> str:
    return str((pod.get("metadata") or {}).get("creationTimestamp") or "")


def _hash(pod: ObjectView) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL, ""))


def _terminating(pod: ObjectView) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def plan_daemonset(ds: ObjectView, nodes: Sequence[ObjectView], pods: Sequence[ObjectView],
                   hash_value: str,
                   now: dt.datetime) -> DaemonSetPlan:
    spec = ds.get("spec") or {}
    template_spec = (spec.get("template") or {}).get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    plan = DaemonSetPlan()
    by_node: dict[str, list[ObjectView]] = {}
    for pod in pods:
        if not owned_by(pod, ds):
            continue
        phase = (pod.get("status") or {}).get("phase")
        if _terminating(pod) and phase in ("Succeeded", "Failed"):
            continue
        node = target_node(pod)
        if node is not None:
            by_node.setdefault(node, []).append(pod)
    eligible: dict[str, tuple[bool, bool]] = {
        n["metadata"]["name"]: should_run(template_spec, n) for n in nodes}
    strategy = (spec.get("updateStrategy") or {}).get("type") or "RollingUpdate"
    desired = sum(1 for run, _ in eligible.values() if run)
    surge, unavailable = surge_and_unavailable(ds, desired)
    use_surge = strategy == "RollingUpdate" and surge > 0

    running: dict[str, list[ObjectView]] = {}
    for name, (run, keep) in eligible.items():
        here = sorted(by_node.get(name, []), key=_created)
        if run and not here:
            plan.create.append(daemon_pod(ds, name, hash_value))
        elif keep and here:
            alive = []
            for pod in here:
                if _terminating(pod):
                    continue
                if (pod.get("status") or {}).get("phase") == "Failed":
                    plan.failed.append((pod["metadata"]["name"], name))
                    continue
                alive.append(pod)
            if use_surge:
                old = [p for p in alive if _hash(p) != hash_value]
                new = [p for p in alive if _hash(p) == hash_value]
                extra = old[1:] + new[1:]
                alive = old[:1] + new[:1]
            else:
                extra, alive = alive[1:], alive[:1]
            plan.delete.extend(p["metadata"]["name"] for p in extra)
            running[name] = alive
        elif here:
            plan.delete.extend(p["metadata"]["name"] for p in here if not _terminating(p))
    plan.delete.extend(p for p, _ in plan.failed)
    for name, here in by_node.items():  # pods for nodes that are gone (upstream: pod GC)
        if name not in eligible:
            plan.delete.extend(p["metadata"]["name"] for p in here if not _terminating(p))

    if strategy == "RollingUpdate":
        _roll(plan, ds, running, hash_value, surge, unavailable, min_ready, now)
    plan.status = _status(ds, eligible, by_node, hash_value, min_ready, now)
    return plan


def _roll(plan: DaemonSetPlan, ds: ObjectView, running: dict[str, list[ObjectView]],
          hash_value: str, surge: int, unavailable: int, min_ready: int, now: dt.datetime) -> None:
    def is_available(pod: ObjectView) -> bool:
        return available(pod, min_ready, now)

    if surge == 0:
        lacking = 0
        replace: list[str] = []
        candidates: list[str] = []
        for pods in running.values():
            new = next((p for p in pods if _hash(p) == hash_value), None)
            old = next((p for p in pods if _hash(p) != hash_value), None)
            if (new is None) == (old is None):
                lacking += 1
            elif new is not None:
                lacking += 0 if is_available(new) else 1
            elif old is not None and not is_available(old):
                replace.append(old["metadata"]["name"])
            elif old is not None:
                candidates.append(old["metadata"]["name"])
        room = max(unavailable - lacking, 0)
        plan.delete.extend(replace + sorted(candidates)[:room])
        return
    surging = 0
    allowed: list[str] = []
    candidates = []
    for node, pods in sorted(running.items()):
        new = next((p for p in pods if _hash(p) == hash_value), None)
        old = next((p for p in pods if _hash(p) != hash_value), None)
        if old is None:
            continue
        if new is None:
            (candidates if is_available(old) else allowed).append(node)
        elif not is_available(new):
            surging += 1
        else:
            plan.delete.append(old["metadata"]["name"])
    room = max(surge - surging, 0)
    for node in allowed + candidates[:room]:
        plan.create.append(daemon_pod(ds, node, hash_value))


def _status(ds: ObjectView, eligible: Mapping[str, tuple[bool, bool]],
            by_node: Mapping[str, list[ObjectView]], hash_value: str, min_ready: int,
            now: dt.datetime) -> dict[str, Any]:
    desired = current = misscheduled = ready = availables = updated = 0
    for name, (run, _) in eligible.items():
        here = sorted(by_node.get(name, []), key=_created)
        if run:
            desired += 1
            if here:
                current += 1
                ready += 1 if pod_ready(here[0]) else 0
                availables += 1 if available(here[0], min_ready, now) else 0
                updated += 1 if any(_hash(p) == hash_value for p in here) else 0
        elif here:
            misscheduled += 1
    status = {
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": (ds.get("metadata") or {}).get("generation", 1),
        "updatedNumberScheduled": updated,
        "numberAvailable": availables,
        "numberUnavailable": desired - availables,
    }
    return {k: v for k, v in status.items() if v or k in (
        "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
        "numberReady")}
