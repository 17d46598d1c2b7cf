"""What the eviction API (the registry) and the disruption controller both know of a
PodDisruptionBudget, as pure functions: which budgets select a pod, and the budget's
`DisruptionAllowed` condition. Upstream shares the same between the two through
k8s.io/component-helpers/apps/poddisruptionbudget (`UpdateDisruptionAllowedCondition`,
`ConditionsAreUpToDate`) and apimachinery's `SetStatusCondition`; the registry may not import
the controllers (nor they the registry), so it lives here, under both.

- **Selection** (policy/v1): a budget covers the pods of its own namespace its selector
  matches; a missing selector selects no pod, `{}` every pod.
- **The condition**: `True`/`SufficientPods` while `disruptionsAllowed` > 0, else
  `False`/`InsufficientPods`, with the status' `observedGeneration`; its
  `lastTransitionTime` moves only when its status does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import Object
from nodelab.kubewire.times import format_time

CONDITION = "DisruptionAllowed"
SUFFICIENT, INSUFFICIENT = "SufficientPods", "InsufficientPods"


def _meta(obj: Object) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def selects(budget: Object, pod: Object) -> bool:
    """Whether `budget` covers `pod`: same namespace, and its selector matches the pod's
    labels (a missing selector matches nothing, `{}` everything)."""
    if _meta(budget).get("namespace") != _meta(pod).get("namespace"):
        return False
    selector = (budget.get("spec") or {}).get("selector")
    return selector_matches(selector, _meta(pod).get("labels") or {})


def budgets_for(pod: Object, budgets: Sequence[Object]) -> list[Object]:
    """The budgets that cover `pod`, in the order given (the eviction API's
    `getPodDisruptionBudgets`, the controller's `getPdbForPod`)."""
    return [budget for budget in budgets if selects(budget, pod)]


def pods_for(budget: Object, pods: Sequence[Object]) -> list[Object]:
    """The pods `budget` covers, in the order given."""
    return [pod for pod in pods if selects(budget, pod)]


def set_condition(conditions: list[Object], wanted: Object, now: dt.datetime) -> None:
    """apimachinery's `SetStatusCondition` (in place): the condition of `wanted`'s type gets
    its status, reason, message and observedGeneration; `lastTransitionTime` is `now` for a
    new condition or a changed status, else kept."""
    for condition in conditions:
        if condition.get("type") == wanted["type"]:
            if condition.get("status") != wanted["status"]:
                condition["status"] = wanted["status"]
                condition["lastTransitionTime"] = format_time(now)
            for key in ("reason", "message", "observedGeneration"):
                condition[key] = wanted[key]
            return
    conditions.append({**wanted, "lastTransitionTime": format_time(now)})


def update_allowed_condition(status: Object, now: dt.datetime) -> None:
    """`UpdateDisruptionAllowedCondition` on a budget's `status` (in place)."""
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    set_condition(status.setdefault("conditions", []), {
        "type": CONDITION, "status": "True" if allowed else "False",
        "reason": SUFFICIENT if allowed else INSUFFICIENT, "message": "",
        "observedGeneration": status.get("observedGeneration", 0)}, now)


def conditions_up_to_date(budget: Object) -> bool:
    """`ConditionsAreUpToDate`: the status was written for the budget's generation and its
    condition says what `disruptionsAllowed` does."""
    status = budget.get("status") or {}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == CONDITION),
                     None)
    if condition is None or status.get("observedGeneration") != _meta(budget).get("generation"):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return (condition.get("status"), condition.get("reason")) == ("True", SUFFICIENT)
    return (condition.get("status"), condition.get("reason")) == ("False", INSUFFICIENT)
