"""StatefulSets: pods with stable names, created and removed in order, updated from the highest
ordinal down to the partition (upstream's pkg/controller/statefulset
`defaultStatefulSetControl.updateStatefulSet` and `newVersionedStatefulSetPod`).

- **Identity.** Pod `<set>-<ordinal>` for ordinals `ordinals.start` .. + `replicas - 1`, with
  `hostname` = its name and `subdomain` = `serviceName` (so a headless Service of that name
  gives it the DNS name `<pod>.<service>.<namespace>.svc.cluster.local`), and the labels
  `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and
  `controller-revision-hash` (the name of the ControllerRevision it was made from).
- **OrderedReady** (default): ordinals are created one at a time, each only once all lower
  ones are Running and Ready; extra ordinals are removed from the highest down, one at a time,
  and nothing is removed while another pod is unhealthy. **Parallel**: all at once.
  A failed pod is deleted and made again under the same name.
- **RollingUpdate**: from the highest ordinal down to `partition`, the first pod not at the
  update revision is deleted (and recreated from the new template); the next one waits until
  it is Running and Ready. Ordinals below the partition are (re)made from the current
  revision. When every pod is updated, the update revision becomes the current one.
  **OnDelete** replaces pods only when the user deletes them.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.controllers.workloads.controllerrevision_plan import HASH_LABEL
from nodelab.controlplane.controllers.workloads.daemonset_pods import available
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by, owner_reference
from nodelab.kube.objects import ObjectView, pod_ready

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


@dataclass
class StatefulSetPlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


def ordinal(sts: ObjectView, pod: ObjectView) -> int | None:
    prefix = f"{sts['metadata']['name']}-"
    name = str((pod.get("metadata") or {}).get("name") or "")
    rest = name[len(prefix):] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and str(int(rest)) == rest else None


def stateful_pod(sts: ObjectView, template: ObjectView, number: int, revision: str) -> dict[str,
                 Any]:
    template = copy.deepcopy(dict(template))
    metadata = template.get("metadata") or {}
    spec: dict[str, Any] = template.get("spec") or {}
    name = f"{sts['metadata']['name']}-{number}"
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    labels = dict(metadata.get("labels") or {})
    labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(number), HASH_LABEL: revision})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": sts["metadata"]["namespace"], "labels": labels,
                     "annotations": dict(metadata.get("annotations") or {}),
                     "ownerReferences": [owner_reference(sts, "StatefulSet", "apps/v1")]},
        "spec": spec,
    }


def _revision(pod: ObjectView) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL, ""))


def _terminating(pod: ObjectView) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _healthy(pod: ObjectView) -> bool:
    return (not _terminating(pod) and (pod.get("status") or {}).get("phase") == "Running"
            and pod_ready(pod))


def plan_statefulset(sts: ObjectView, pods: Sequence[ObjectView], update_revision: str,
                     current_revision: str, current_template: ObjectView,
                     now: dt.datetime) -> StatefulSetPlan:
    spec = sts.get("spec") or {}
    replicas = int(spec.get("replicas", 1))
    start = int((spec.get("ordinals") or {}).get("start") or 0)
    ordered = (spec.get("podManagementPolicy") or "OrderedReady") == "OrderedReady"
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    by_ordinal: dict[int, ObjectView] = {}
    for candidate in pods:
        number = ordinal(sts, candidate)
        if owned_by(candidate, sts) and number is not None:
            by_ordinal[number] = candidate
    wanted = range(start, start + replicas)
    plan = StatefulSetPlan()
    plan.status = _status(sts, by_ordinal, wanted, update_revision, current_revision, now)

    def make(number: int) -> dict[str, Any]:
        if rolling and number < start + partition:
            return stateful_pod(sts, current_template, number, current_revision)
        return stateful_pod(sts, spec.get("template") or {}, number, update_revision)

    for number in wanted:
        pod = by_ordinal.get(number)
        if pod is not None and (pod.get("status") or {}).get("phase") == "Failed" \
                and not _terminating(pod):
            plan.delete.append(pod["metadata"]["name"])
            if ordered:
                return plan
            continue
        if pod is None:
            plan.create.append(make(number))
            if ordered:
                return plan
            continue
        if ordered and not _healthy(pod):
            return plan
    condemned = sorted((n for n in by_ordinal if n not in wanted), reverse=True)
    for number in condemned:
        extra = by_ordinal[number]
        if _terminating(extra):
            if ordered:
                return plan
            continue
        if ordered and any(not _healthy(p) for n, p in by_ordinal.items() if n != number):
            return plan
        plan.delete.append(extra["metadata"]["name"])
        if ordered:
            return plan
    if not rolling or plan.create or plan.delete:
        return plan
    for number in reversed(wanted):
        if number < start + partition:
            break
        member = by_ordinal.get(number)
        if member is None:
            return plan
        if _revision(member) != update_revision and not _terminating(member):
            plan.delete.append(member["metadata"]["name"])
            return plan
        if not _healthy(member):
            return plan
    return plan


def _status(sts: ObjectView, by_ordinal: Mapping[int, ObjectView], wanted: range,
            update_revision: str, current_revision: str, now: dt.datetime) -> dict[str, Any]:
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    alive = [p for p in by_ordinal.values() if not _terminating(p)]
    ready = sum(1 for p in alive if _healthy(p))
    updated = sum(1 for p in alive if _revision(p) == update_revision)
    current = sum(1 for p in alive if _revision(p) == current_revision)
    if updated == int(spec.get("replicas", 1)) and len(alive) == len(wanted) and all(
            n in by_ordinal for n in wanted):
        current_revision, current = update_revision, updated
    status = {
        "observedGeneration": (sts.get("metadata") or {}).get("generation", 1),
        "replicas": len(alive),
        "readyReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
        "availableReplicas": sum(1 for p in alive if _healthy(p) and available(
            p, min_ready, now)),
    }
    return {k: v for k, v in status.items() if v or k in ("replicas", "availableReplicas",
                                                          "collisionCount")}
