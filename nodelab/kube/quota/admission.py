"""The ResourceQuota admission plugin's decision for one request (apiserver's
admission/plugin/resourcequota `CheckRequest`), as a pure function.

For each quota of the namespace that limits one of the resource's names (in `status.hard`,
which the quota controller fills) and whose scopes the object is in: the object must set what
the quota needs to count it (`must specify limits.cpu for: app`), the quota must have usage for
what it limits (`status unknown for quota`), and the used amount plus the object's usage (on
update: what it adds) must stay within `hard` (`exceeded quota: NAME, requested: ...`). A request
that passes returns each matching quota's new `status.used`, which the API server writes before
the object, as upstream charges quota at admission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.kube.objects import ObjectView
from nodelab.kube.quota import resource_lists as rl
from nodelab.kube.quota.evaluators import Evaluator
from nodelab.kube.quota.resource_lists import ResourceList, parse_list


class QuotaRefusal(Exception):
    """A request the quotas refuse; `str()` is upstream's text after `... is forbidden: `."""


@dataclass(frozen=True)
class Charge:
    """A quota's `status.used` once the request is admitted."""

    quota: str
    used: ResourceList


def check_request(quotas: Sequence[ObjectView], evaluator: Evaluator, obj: ObjectView,
                  old: ObjectView | None, operation: str, subresource: str = "") -> list[Charge]:
    if not evaluator.handles(operation, subresource, obj, old):
        return []
    interesting = []
    for quota in sorted(quotas, key=lambda q: str((q.get("metadata") or {}).get("name"))):
        if not evaluator.matches(quota, obj):
            continue
        name = str((quota.get("metadata") or {}).get("name") or "")
        status = quota.get("status") or {}
        hard = parse_list(status.get("hard"))
        restricted = evaluator.matching_resources(list(hard))
        problem = evaluator.constraints(restricted, obj)
        if problem:
            raise QuotaRefusal(f"failed quota: {name}: {problem}")
        used = parse_list(status.get("used"))
        if any(resource not in used for resource in restricted):
            raise QuotaRefusal(f"status unknown for quota: {name}, resources: "
                               f"{','.join(sorted(restricted))}")
        interesting.append((quota, name, hard, used))
    if not interesting:
        return []
    usage = evaluator.usage(obj)
    negative = rl.negative(usage)
    if negative:
        raise QuotaRefusal(f"quota usage is negative for resource(s): {','.join(negative)}")
    deltas = {}
    for quota, name, _hard, _used in interesting:
        delta = usage
        if operation == "UPDATE" and old is not None and (old.get("metadata") or {}).get(
                "resourceVersion") and evaluator.matches(quota, old):
            delta = rl.subtract_non_negative(usage, evaluator.usage(old))
        delta = rl.remove_zeros(delta)
        if delta:
            deltas[name] = delta
    charges = []
    for _quota, name, hard, used in interesting:
        if name not in deltas:
            continue
        requested = rl.mask(deltas[name], hard)
        new_used = rl.add(used, requested)
        if subresource != "status":
            allowed, exceeded = rl.less_than_or_equal(rl.mask(new_used, requested), hard)
            if not allowed:
                raise QuotaRefusal(
                    f"exceeded quota: {name}, requested: {rl.pretty(rl.mask(requested, exceeded))}"
                    f", used: {rl.pretty(rl.mask(used, exceeded))}"
                    f", limited: {rl.pretty(rl.mask(hard, exceeded))}")
        charges.append(Charge(name, new_used))
    return charges
