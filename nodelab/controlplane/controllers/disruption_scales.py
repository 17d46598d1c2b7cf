"""Which owners' `scale` the disruption controller reads, and when (pure).

Upstream's finders (pkg/controller/disruption/disruption.go) find a pod's controller of a
built-in kind (ReplicationController, ReplicaSet, Deployment, StatefulSet) in informers, so
nodelab reads those from the controllers' cache (no request). Any other owner (a custom
resource with a `scale` subresource) goes through `getScaleController`: its resource from the
RESTMapper (discovery, cached by kube-controller-manager and reset every 30 s), then a GET of
its scale through the scale client, each time a budget is synced. Upstream syncs a budget when
it, or a pod it selects, changes (the PDB and pod informers' handlers; the owners have none),
so a custom owner's scale is read again then, not on every pass:

- `scale_lookups`: the owners of other kinds whose scale the budgets need (only a budget with a
  percentage `minAvailable` or any `maxUnavailable` reads scales);
- `budget_fingerprint`: what of a budget upstream's sync is triggered by (its own
  resourceVersion and those of the pods it selects);
- `scale_reads`: the lookups due now: those of a budget that is new or changed since its
  scales were read, and any not yet answered;
- `discovery_due`: whether the cached discovery is older than the 30-s reset.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from nodelab.controlplane.controllers.disruption_plan import (
    SCALED_KINDS,
    api_group,
    controller_ref,
)
from nodelab.kube.disruption_budgets import pods_for
from nodelab.kube.objects import Object

DISCOVERY_RESET = 30.0  # kube-controller-manager resets its RESTMapper every 30 s
Lookup = tuple[str, str, str, str]  # apiVersion, kind, namespace, name of an owner
Fingerprint = tuple[str, ...]


def _meta(obj: Object) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def needs_scale(pdb: Object) -> bool:
    """Whether the budget's counts read the owners' scale (a percentage or maxUnavailable)."""
    spec = pdb.get("spec") or {}
    return spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str)


def scale_lookups(budgets: Sequence[Object], pods: Sequence[Object]) -> set[Lookup]:
    """The owners whose `scale` subresource the budgets need read, beyond the kinds in
    `SCALED_KINDS` (a custom resource's, upstream's getScaleController)."""
    wanted = set()
    for pdb in budgets:
        if not needs_scale(pdb):
            continue
        for pod in pods_for(pdb, pods):
            ref = controller_ref(pod)
            if ref is None or (ref.get("kind"), api_group(ref.get("apiVersion", ""))) in \
                    SCALED_KINDS:
                continue
            wanted.add((str(ref.get("apiVersion", "")), str(ref.get("kind", "")),
                        str(_meta(pod).get("namespace", "")), str(ref.get("name", ""))))
    return wanted


def budget_fingerprint(pdb: Object, pods: Sequence[Object]) -> Fingerprint:
    """The budget's resourceVersion and its pods' (uid@resourceVersion, sorted)."""
    return (str(_meta(pdb).get("resourceVersion", "")),
            *sorted(f"{_meta(p).get('uid', '')}@{_meta(p).get('resourceVersion', '')}"
                    for p in pods_for(pdb, pods)))


def scale_reads(budgets: Sequence[Object], pods: Sequence[Object],
                read_for: Mapping[str, Fingerprint], answered: Collection[Lookup]
                ) -> tuple[set[Lookup], dict[str, Fingerprint]]:
    """The lookups to send now, and each scale-reading budget's fingerprint (by uid) to
    remember once they are answered. `read_for`: the fingerprints remembered at the last
    reads; `answered`: the lookups whose answer is kept."""
    due: set[Lookup] = set()
    fingerprints: dict[str, Fingerprint] = {}
    for pdb in budgets:
        lookups = scale_lookups([pdb], pods)
        if not lookups:
            continue
        uid = str(_meta(pdb).get("uid", ""))
        fingerprints[uid] = budget_fingerprint(pdb, pods)
        if read_for.get(uid) != fingerprints[uid]:
            due |= lookups
        else:
            due |= {lookup for lookup in lookups if lookup not in answered}
    return due, fingerprints


def discovery_due(read_at: float | None, now: float) -> bool:
    """Whether discovery is read (again): never read, or at the RESTMapper's 30-s reset."""
    return read_at is None or now - read_at >= DISCOVERY_RESET
