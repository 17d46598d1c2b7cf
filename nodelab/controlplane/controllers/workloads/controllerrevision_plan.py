"""ControllerRevisions: the template history DaemonSets and StatefulSets keep for `kubectl
rollout history|undo` (upstream's pkg/controller/history and the DaemonSet's
`constructHistory`/`cleanupHistory`).

- A revision is named `<owner>-<hash>`, labelled with the template's labels plus
  `controller-revision-hash: <hash>`, owned by the workload, and holds the template as the
  strategic merge patch that restores it, `{"spec": {"template": {..., "$patch": "replace"}}}`,
  which is exactly what `kubectl rollout undo` sends back.
- The current template's revision is found by its data; if there is none it is created with
  the next revision number; an older revision equal to the current template (a rollback) is
  renumbered to the newest, and duplicates are deleted.
- Beyond `revisionHistoryLimit` (default 10), the oldest revisions no live pod still runs
  are deleted.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.controlplane.controllers.workloads.deployment_plan import template_hash
from nodelab.controlplane.controllers.workloads.replicaset_plan import owned_by, owner_reference
from nodelab.kube.objects import ObjectView

HASH_LABEL = "controller-revision-hash"


def revision_data(template: ObjectView) -> dict[str, Any]:
    return {"spec": {"template": {**copy.deepcopy(dict(template)), "$patch": "replace"}}}


def revision_number(revision: ObjectView) -> int:
    return int(revision.get("revision") or 0)


def revision_hash(revision: ObjectView) -> str:
    return str(((revision.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL, ""))


@dataclass
class HistoryPlan:
    hash: str
    revision: int
    create: dict[str, Any] | None = None
    renumber: dict[str, int] = field(default_factory=dict)  # revision name -> new number
    delete: list[str] = field(default_factory=list)


def plan_history(owner: ObjectView, kind: str, revisions: Sequence[ObjectView],
                 live_hashes: set[str]) -> HistoryPlan:
    spec = owner.get("spec") or {}
    template = spec.get("template") or {}
    data = revision_data(template)
    mine = [r for r in revisions if owned_by(r, owner)]
    newest = max((revision_number(r) for r in mine), default=0)
    equal = sorted((r for r in mine if r.get("data") == data), key=revision_number)
    if equal:
        current = equal[-1]
        plan = HistoryPlan(revision_hash(current), revision_number(current))
        plan.delete = [r["metadata"]["name"] for r in equal[:-1]]
        if revision_number(current) < newest:
            plan.revision = newest + 1
            plan.renumber[current["metadata"]["name"]] = plan.revision
    else:
        hash_value = template_hash(template)
        metadata = owner["metadata"]
        plan = HistoryPlan(hash_value, newest + 1)
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels[HASH_LABEL] = hash_value
        plan.create = {
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": f"{metadata['name']}-{hash_value}",
                         "namespace": metadata["namespace"], "labels": labels,
                         "ownerReferences": [owner_reference(owner, kind, "apps/v1")]},
            "data": data,
            "revision": plan.revision,
        }
    old = sorted((r for r in mine if r.get("data") != data), key=revision_number)
    excess = len(old) - int(spec.get("revisionHistoryLimit", 10))
    for revision in old:
        if excess <= 0:
            break
        if revision_hash(revision) not in live_hashes:
            plan.delete.append(revision["metadata"]["name"])
            excess -= 1
    return plan
