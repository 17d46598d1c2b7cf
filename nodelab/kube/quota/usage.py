"""A quota's status as the quota controller computes it (kube-controller-manager's
resourcequota controller, `CalculateUsage`): `hard` is the spec's, `used` the sum of what the
namespace's objects of each tracked resource use (within the quota's scopes), for the names
`hard` limits. A limited name no evaluator here counts keeps the usage admission wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from nodelab.kube.objects import Object, ObjectView
from nodelab.kube.quota import resource_lists as rl
from nodelab.kube.quota.evaluators import Evaluator, pod_is_live, scope_selectors
from nodelab.kube.quota.resource_lists import ResourceList, parse_list

# (plural, group) -> the namespace's objects of that resource
Objects = Mapping[tuple[str, str], Sequence[ObjectView]]


def calculate_usage(quota: ObjectView, objects: Objects,
                    now: dt.datetime | None = None) -> ResourceList:
    hard = list(parse_list((quota.get("spec") or {}).get("hard")))
    selectors = scope_selectors(quota)
    used: ResourceList = {}
    for (plural, group), items in objects.items():
        evaluator = Evaluator(plural, group)
        tracked = evaluator.matching_resources(hard)
        if not tracked:
            continue
        stats: ResourceList = {name: rl.ZERO for name in tracked}
        for item in items:
            if all(evaluator.matches_scope(s, item) for s in selectors):
                stats = rl.add(stats, rl.mask(evaluator.usage(item, now), tracked))
        used = rl.add(used, stats)
    return used


def desired_status(quota: ObjectView, objects: Objects,
                   now: dt.datetime | None = None) -> Object:
    """The status the quota should have: `hard` from the spec, `used` recalculated for what
    the controller counts, the previous `used` kept for the rest, both masked to `hard`."""
    hard = parse_list((quota.get("spec") or {}).get("hard"))
    used = parse_list((quota.get("status") or {}).get("used"))
    used.update(calculate_usage(quota, objects, now))
    used = rl.mask(used, hard)
    return {"hard": dict((quota.get("spec") or {}).get("hard") or {}),
            "used": rl.to_strings(used)}


def status_differs(quota: ObjectView, wanted: ObjectView) -> bool:
    status = quota.get("status") or {}
    return status.get("hard") != wanted.get("hard") or not rl.equal(
        parse_list(status.get("used")), parse_list(wanted.get("used")))


def lowers_usage(quota: ObjectView, wanted: ObjectView) -> bool:
    """Whether the recount `wanted` is below the quota's `status.used` for some resource."""
    used = parse_list((quota.get("status") or {}).get("used"))
    recount = parse_list(wanted.get("used"))
    return any(name in recount and recount[name].value < quantity.value
               for name, quantity in used.items())


def may_write_recount(quota: ObjectView, wanted: ObjectView,
                      delivered: Mapping[str, int]) -> bool:
    """Whether a recount may replace the quota's status: a recount that lowers `used` only
    once the cache of each counted kind (`delivered`: kind -> the resourceVersion its
    reflector delivered through) has caught up with the quota's resourceVersion. Admission
    charges the quota before it stores the object, so a cache behind the charged quota can
    miss that object, and writing its lower count would drop the charge (the next object then
    gets past a full quota); a count that lowers nothing loses no charge."""
    if not lowers_usage(quota, wanted):
        return True
    text = str((quota.get("metadata") or {}).get("resourceVersion") or "")
    version = int(text) if text.isdigit() else -1
    return all(seen >= version for seen in delivered.values())


# upstream's --resource-quota-sync-period: every quota is recounted this often
FULL_RESYNC_SECONDS = 300.0
LiveKey = tuple[str, str, str, str]  # namespace, plural, group, name


def live_keys(namespace: str, objects: Objects, now: dt.datetime | None = None) -> set[LiveKey]:
    """What in `namespace` still uses quota: every object, pods only while live (upstream's
    replenishment fires when one goes: deleted, or a pod terminal or past its grace)."""
    return {(namespace, plural, group, str((obj.get("metadata") or {}).get("name") or ""))
            for (plural, group), items in objects.items() for obj in items
            if (plural, group) != ("pods", "") or pod_is_live(obj, now)}


def needs_recount(quota: ObjectView, replenished: set[str], full_resync: bool) -> bool:
    """upstream's controller recounts a quota when it is new or its `spec.hard` changed, when
    something in its namespace stopped using quota, and at the full resync; not when admission
    charged it (a recount then could miss an object admitted but not yet seen)."""
    spec_hard = (quota.get("spec") or {}).get("hard") or {}
    status_hard = (quota.get("status") or {}).get("hard")
    namespace = str((quota.get("metadata") or {}).get("namespace") or "")
    return full_resync or status_hard != spec_hard or namespace in replenished
