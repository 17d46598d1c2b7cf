"""Deployments: the ReplicaSet for the current template, the rolling update between ReplicaSets,
and the status `kubectl rollout status` reads.

- Each pod template gets a ReplicaSet `<deployment>-<pod-template-hash>` whose selector, labels
  and template carry the `pod-template-hash` label. (The hash is a stable digest of the
  template in upstream's safe alphabet; upstream uses FNV-32a over Go's printed template, so
  the values differ, not the behaviour.)
- RollingUpdate: at most `replicas + maxSurge` pods in total (surge rounded up, default 25%),
  at least `replicas - maxUnavailable` available (rounded down, default 25%; if both are 0,
  maxUnavailable is 1). As upstream's rolloutRolling, a pass either resizes the new ReplicaSet
  (it grows within the surge) or shrinks old ones, oldest first: their unavailable pods first,
  then by what the availability allows, never more than the pods beyond the minimum that are
  not the new set's unavailable ones. Recreate: old ones to 0 first, then the new one up.
- Revisions: the new ReplicaSet's `deployment.kubernetes.io/revision` is one more than the
  old ones' highest (a template rolled back to, `kubectl rollout undo`, takes the next
  revision), and the Deployment carries its new ReplicaSet's revision, as upstream's
  `SetNewReplicaSetAnnotations`/`SetDeploymentRevision` do (`kubectl rollout history` and
  `undo` read them).
- Status: replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
  observedGeneration and the Available and Progressing conditions with upstream's reasons.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by, owner_reference
from nodelab.kube.intstr import scaled_value
from nodelab.kube.objects import ObjectView

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: ObjectView) -> str:
    canonical = dict(template)
    metadata = dict(canonical.get("metadata") or {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k != HASH_LABEL}
    metadata["labels"] = labels
    canonical["metadata"] = metadata
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        value, index = divmod(value, len(_SAFE))
        chars.append(_SAFE[index])
    return "".join(chars)


def surge_and_unavailable(deployment: ObjectView) -> tuple[int, int]:
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    # upstream's ResolveFenceposts: surge rounded up, unavailable down
    surge = scaled_value(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_replicaset(deployment: ObjectView, revision: int) -> dict[str, Any]:
    spec = deployment.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    hash_value = template_hash(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_value
    selector = copy.deepcopy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_value
    metadata = deployment["metadata"]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{metadata['name']}-{hash_value}",
            "namespace": metadata["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {REVISION: str(revision)},
            "ownerReferences": [owner_reference(deployment, "Deployment", "apps/v1")],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template,
                 "minReadySeconds": spec.get("minReadySeconds", 0)},
    }


@dataclass
class DeploymentPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    scale: dict[str, int] = field(default_factory=dict)  # ReplicaSet name -> replicas
    status: dict[str, Any] = field(default_factory=dict)
    revise: dict[str, str] = field(default_factory=dict)  # ReplicaSet name -> new revision
    revision: str = ""  # the Deployment's deployment.kubernetes.io/revision
    scaling: list[str] = field(default_factory=list)  # ScalingReplicaSet event messages


def scaling_message(name: str, before: int, after: int) -> str:
    """The ScalingReplicaSet event's text, as upstream's scaleReplicaSet and getNewReplicaSet
    (sync.go) write it: the direction and both sizes."""
    direction = "up" if after > before else "down"
    return f"Scaled {direction} replica set {name} from {before} to {after}"


def _revision(rs: ObjectView) -> int:
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, 0)
    try:
        return int(value)
    except ValueError:
        return 0


def _replicas(rs: ObjectView) -> int:
    return int((rs.get("spec") or {}).get("replicas", 0))


def _available(rs: ObjectView) -> int:
    return int((rs.get("status") or {}).get("availableReplicas") or 0)


def plan_deployment(deployment: ObjectView, replicasets: Sequence[ObjectView]) -> DeploymentPlan:
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    mine = [rs for rs in replicasets if owned_by(rs, deployment)]
    wanted_hash = template_hash(spec.get("template") or {})
    new = next((rs for rs in mine
                if ((rs.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL) == wanted_hash),
               None)
    old = sorted((rs for rs in mine if rs is not new),
                 key=lambda rs: (rs.get("metadata") or {}).get("creationTimestamp") or "")
    plan = DeploymentPlan()
    next_revision = max((_revision(rs) for rs in old), default=0) + 1
    if new is None:
        new = new_replicaset(deployment, next_revision)
        plan.create.append(new)
    elif _revision(new) < next_revision:
        plan.revise[new["metadata"]["name"]] = str(next_revision)
    plan.revision = plan.revise.get(new["metadata"]["name"], str(_revision(new)))
    current = {rs["metadata"]["name"]: _replicas(rs) for rs in [*old, new]}
    sizes = dict(current)
    new_name = new["metadata"]["name"]
    paused = bool(spec.get("paused"))
    strategy = (spec.get("strategy") or {}).get("type") or "RollingUpdate"
    if not paused and strategy == "Recreate":
        old_pods = sum(int((rs.get("status") or {}).get("replicas") or 0) for rs in old)
        for rs in old:
            sizes[rs["metadata"]["name"]] = 0
        if old_pods == 0:
            sizes[new_name] = replicas
    elif not paused:
        _roll(deployment, old, new, sizes, created=new in plan.create)
    created = new in plan.create
    if created:
        new["spec"]["replicas"] = sizes[new_name]
    plan.scale = {name: size for name, size in sizes.items()
                  if size != current[name] and not (created and name == new_name)}
    if created and sizes[new_name] > 0:  # upstream records no event for a new, empty set
        plan.scaling.append(scaling_message(new_name, 0, sizes[new_name]))
    plan.scaling += [scaling_message(name, current[name], size)
                     for name, size in plan.scale.items()]
    plan.status = deployment_status(deployment, old, new)
    return plan


def _roll(deployment: ObjectView, old: Sequence[ObjectView], new: ObjectView,
          sizes: dict[str, int], *, created: bool) -> None:
    """One pass of upstream's rolloutRolling on `sizes` (spec.replicas by ReplicaSet name;
    `old` oldest first): reconcileNewReplicaSet, and only if that changed nothing (or the new
    set was just created at its size), reconcileOldReplicaSets. The old sets shrink by at most
    what keeps `replicas - maxUnavailable` available, counting the new set's unavailable pods
    as gone: a stale status (an old set's availableReplicas still counting a pod it just let
    go) must not let a rollout whose new pods never become ready take the old ones down."""
    replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    surge, unavailable = surge_and_unavailable(deployment)
    new_name = new["metadata"]["name"]
    wanted = sizes[new_name]
    if wanted > replicas:
        wanted = replicas
    elif wanted < replicas:  # NewRSNewReplicas
        room = replicas + surge - sum(sizes.values())
        if room > 0:
            wanted = min(replicas, wanted + room)
    if wanted != sizes[new_name]:
        sizes[new_name] = wanted
        if not created:
            return
    if sum(sizes[rs["metadata"]["name"]] for rs in old) == 0:
        return
    min_available = replicas - unavailable
    new_unavailable = sizes[new_name] - _available(new)
    max_scaled_down = sum(sizes.values()) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return
    cleaned = 0  # cleanupUnhealthyReplicas: old sets' unavailable pods go first
    for rs in old:
        name = rs["metadata"]["name"]
        if cleaned >= max_scaled_down:
            break
        if sizes[name] == 0 or sizes[name] == _available(rs):
            continue
        if _available(rs) > sizes[name]:
            return  # upstream's "invalid request to scale down": retried at a next pass
        cut = min(max_scaled_down - cleaned, sizes[name] - _available(rs))
        sizes[name] -= cut
        cleaned += cut
    # scaleDownOldReplicaSetsForRollingUpdate
    room = sum(_available(rs) for rs in [*old, new]) - min_available
    for rs in old:
        name = rs["metadata"]["name"]
        if room <= 0:
            break
        cut = min(sizes[name], room)
        sizes[name] -= cut
        room -= cut


def deployment_status(deployment: ObjectView, old: Sequence[ObjectView],
                      new: ObjectView) -> dict[str, Any]:
    spec = deployment.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    _, unavailable = surge_and_unavailable(deployment)

    def count(rs: ObjectView, key: str) -> int:
        return int((rs.get("status") or {}).get(key) or 0)

    every = [*old, new]
    total = sum(count(rs, "replicas") for rs in every)
    available = sum(count(rs, "availableReplicas") for rs in every)
    updated = count(new, "replicas")
    new_name = new["metadata"]["name"]
    complete = (updated == replicas and total == replicas and available >= replicas
                and count(new, "availableReplicas") == replicas)
    minimum = available >= replicas - unavailable
    return {
        "observedGeneration": (deployment.get("metadata") or {}).get("generation", 1),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": sum(count(rs, "readyReplicas") for rs in every),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0) if total >= replicas
        else replicas - available,
        "conditions": [
            {"type": "Available", "status": "True" if minimum else "False",
             "reason": "MinimumReplicasAvailable" if minimum else "MinimumReplicasUnavailable",
             "message": "Deployment has minimum availability." if minimum
             else "Deployment does not have minimum availability."},
            {"type": "Progressing", "status": "True",
             "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
             "message": f'ReplicaSet "{new_name}" has successfully progressed.' if complete
             else f'ReplicaSet "{new_name}" is progressing.'},
            *replica_failure(new, old),
        ],
    }


def replica_failure(new: ObjectView, old: Sequence[ObjectView]) -> list[dict[str, Any]]:
    """upstream's getReplicaFailures: the `ReplicaFailure` condition of the new ReplicaSet,
    else of an old one, as the Deployment's (a quota refusing its pods shows there)."""
    for rs in [new, *old]:
        for condition in (rs.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "ReplicaFailure":
                when = condition.get("lastTransitionTime")
                return [{"type": "ReplicaFailure", "status": condition.get("status"),
                         "reason": condition.get("reason"), "message": condition.get("message"),
                         "lastUpdateTime": when, "lastTransitionTime": when}]
    return []
