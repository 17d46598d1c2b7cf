"""The LimitRanger and ResourceQuota admission plugins in the API server: they read the
namespace's LimitRanges and ResourceQuotas from the store and apply the pure decisions of
`nodelab.kube.quota` (`limit_ranges`, `admission`).

- `default_resources` (mutating, a new pod): each LimitRange's container defaults, then the
  pod's QoS class again, as upstream computes it after admission;
- `check_limits` (validating: a new pod, a claim created or updated): 403 with upstream's text
  for each `min`/`max`/`maxLimitRequestRatio` broken;
- `charge_quota` (validating, last): 403 when a quota would be exceeded or cannot count the
  object; otherwise each matching quota's `status.used` is written before the object is, as
  upstream charges quota at admission (the quota controller recounts later).
"""

from __future__ import annotations

import contextlib

from nodelab.controlplane import errors
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.store import Store
from nodelab.kube.objects import Object
from nodelab.kube.pod.qos import compute_pod_qos
from nodelab.kube.quantities import InvalidQuantity
from nodelab.kube.quota import limit_ranges
from nodelab.kube.quota.admission import QuotaRefusal, check_request
from nodelab.kube.quota.evaluators import evaluator_for
from nodelab.kube.quota.resource_lists import to_strings

LIMIT_RANGES, QUOTAS = "core/limitranges", "core/resourcequotas"
PODS, CLAIMS = "core/pods", "core/persistentvolumeclaims"


def _namespace(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _ranges(store: Store, namespace: str) -> list[Object]:
    ranges = store.select(LIMIT_RANGES, namespace)[0]
    return sorted(ranges, key=lambda r: str(r["metadata"].get("name")))


def default_resources(store: Store, rt: ResourceType, obj: Object) -> None:
    if rt.storage_key != PODS:
        return
    changed = False
    for limit_range in _ranges(store, _namespace(obj)):
        changed = limit_ranges.default_pod(limit_range, obj) or changed
    status = obj.get("status")
    if changed and isinstance(status, dict):
        with contextlib.suppress(InvalidQuantity, AttributeError, TypeError):
            status["qosClass"] = compute_pod_qos(obj.get("spec") or {})


def _name(obj: Object) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName") or "Unknown")


def check_limits(store: Store, rt: ResourceType, obj: Object, old: Object | None) -> None:
    """Pods on create only (their containers' resources cannot change), claims on create and
    update, as upstream's SupportsAttributes; a pod or claim being deleted is let through."""
    if rt.storage_key == PODS and old is not None:
        return
    if rt.storage_key not in (PODS, CLAIMS):
        return
    if old is not None and (old.get("metadata") or {}).get("deletionTimestamp"):
        return
    for limit_range in _ranges(store, _namespace(obj)):
        try:
            problems = (limit_ranges.pod_problems(limit_range, obj) if rt.storage_key == PODS
                        else limit_ranges.claim_problems(limit_range, obj))
        except (InvalidQuantity, AttributeError, TypeError):
            continue  # validation has named the malformed field
        if problems:
            raise errors.admission_forbidden(rt.plural, rt.group, _name(obj),
                                             limit_ranges.aggregate(problems))


def charge_quota(store: Store, rt: ResourceType, obj: Object, old: Object | None,
                 subresource: str, dry_run: bool) -> None:
    if not rt.namespaced or rt.storage_key == QUOTAS and subresource == "status":
        return
    namespace = _namespace(obj)
    quotas = store.select(QUOTAS, namespace)[0]
    if not quotas:
        return
    try:
        charges = check_request(quotas, evaluator_for(rt.plural, rt.group), obj, old,
                                "CREATE" if old is None else "UPDATE", subresource)
    except QuotaRefusal as refusal:
        raise errors.admission_forbidden(rt.plural, rt.group, _name(obj), str(refusal)) from None
    except (InvalidQuantity, AttributeError, TypeError):
        return  # validation has named the malformed field
    if dry_run:
        return
    by_name = {q["metadata"]["name"]: q for q in quotas}
    for charge in charges:
        quota = by_name[charge.quota]
        quota.setdefault("status", {})["used"] = to_strings(charge.used)
        store.update(QUOTAS, namespace, charge.quota, quota,
                     int(quota["metadata"]["resourceVersion"]))
