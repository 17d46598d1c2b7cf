"""ReplicaSets: how many pods to create or delete, which ones, and the status to report.

A ReplicaSet owns the active pods (not finished, not being deleted) that name it as their
controller. It creates pods from its template (`generateName: <rs>-`, an ownerReference with
`controller: true`) until it has `spec.replicas`, and deletes the extras in upstream's order:
unscheduled before scheduled, pending before running, not ready before ready, the most
recently ready first, the most restarted first, the newest first.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.objects import ObjectView, pod_ready


def owned_by(pod: ObjectView, owner: ObjectView) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


def active(pod: ObjectView) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and not (
        pod.get("metadata") or {}).get("deletionTimestamp")


def owner_reference(owner: ObjectView, kind: str, api_version: str) -> dict[str, Any]:
    metadata = owner["metadata"]
    return {"apiVersion": api_version, "kind": kind, "name": metadata["name"],
            "uid": metadata["uid"], "controller": True, "blockOwnerDeletion": True}


def pod_from_template(rs: ObjectView, kind: str = "ReplicaSet",
                      api_version: str = "apps/v1") -> dict[str, Any]:
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    metadata = template.get("metadata") or {}
    rs_metadata = rs["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{rs_metadata['name']}-",
            "namespace": rs_metadata["namespace"],
            "labels": dict(metadata.get("labels") or {}),
            "annotations": dict(metadata.get("annotations") or {}),
            "ownerReferences": [owner_reference(rs, kind, api_version)],
        },
        "spec": template.get("spec") or {},
    }


def _restarts(pod: ObjectView) -> int:
    return sum(int(s.get("restartCount") or 0)
               for s in (pod.get("status") or {}).get("containerStatuses") or [])


def deletion_rank(pod: ObjectView) -> tuple[Any, ...]:
    """Smaller sorts first = deleted first (upstream's ActivePods ordering)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase") or "", 0)
    created = (pod.get("metadata") or {}).get("creationTimestamp") or ""
    return (
        1 if spec.get("nodeName") else 0,
        phase_rank,
        1 if pod_ready(pod) else 0,
        -_restarts(pod),
        _invert(created),
    )


def _invert(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


@dataclass
class ReplicaSetPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


def plan_replicaset(rs: ObjectView, pods: Sequence[ObjectView], burst: int = 500,
                    kind: str = "ReplicaSet", api_version: str = "apps/v1") -> ReplicaSetPlan:
    """Also a ReplicationController's plan (core/v1, same rules), given its kind."""
    spec = rs.get("spec") or {}
    wanted = int(spec.get("replicas", 1))
    mine = [p for p in pods if owned_by(p, rs) and active(p)]
    plan = ReplicaSetPlan()
    diff = wanted - len(mine)
    if diff > 0:
        plan.create = [pod_from_template(rs, kind, api_version) for _ in range(min(diff, burst))]
    elif diff < 0:
        victims = sorted(mine, key=deletion_rank)[: -diff]
        plan.delete = [p["metadata"]["name"] for p in victims]
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    ready = [p for p in mine if pod_ready(p)]
    plan.status = {
        "replicas": len(mine),
        "fullyLabeledReplicas": sum(
            1 for p in mine
            if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v
                   for k, v in template_labels.items())
        ),
        "readyReplicas": len(ready),
        "availableReplicas": len(ready),
        "observedGeneration": (rs.get("metadata") or {}).get("generation", 1),
    }
    return plan


def replica_failure_conditions(current: list[dict[str, Any]], failure: str | None,
                               reason: str, now: str) -> list[dict[str, Any]]:
    """upstream's calculateStatus: a failed create or delete adds the `ReplicaFailure`
    condition (reason FailedCreate or FailedDelete, the API server's error as its message)
    unless one is there already; a sync without failure removes it."""
    others = [c for c in current if c.get("type") != "ReplicaFailure"]
    existing = [c for c in current if c.get("type") == "ReplicaFailure"]
    if failure is None:
        return others
    if existing:
        return current
    return [*others, {"type": "ReplicaFailure", "status": "True", "lastTransitionTime": now,
                      "reason": reason, "message": failure}]
