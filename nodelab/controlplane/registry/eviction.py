"""The `pods/eviction` subresource (upstream's pkg/registry/core/pod/storage/eviction.go): a
delete that respects PodDisruptionBudgets. What `kubectl drain` and the Python client's
`create_namespaced_pod_eviction` post.

1. A pod that already finished (Succeeded, Failed), has not started (Pending) or is being
   deleted is deleted at once: its disruption has happened (`canIgnorePDB`).
2. Otherwise the budgets of its namespace whose selector matches it are found; more than one
   is a **500** ("This pod has more than one PodDisruptionBudget, which the eviction
   subresource does not support."); none: the pod is deleted.
3. A pod that is not Ready (not healthy) may go without using the budget when the budget's
   `unhealthyPodEvictionPolicy` is `AlwaysAllow`, or (default `IfHealthyBudget`) while
   currentHealthy >= desiredHealthy > 0; it is then deleted with a resourceVersion
   precondition (a pod that turned Ready meanwhile is a 429, not a silent disruption).
4. Else the budget must allow it (`checkAndDecrement`): a budget the disruption controller
   has not seen at this generation is a **429** "...is still being processed by the server."
   (Retry-After 10, which client-go waits out by itself); `disruptionsAllowed` 0 is a **429**
   `Cannot evict pod as it would violate the pod's disruption budget.` with the cause
   `DisruptionBudget` "The disruption budget web needs 2 healthy pods and has 2 currently";
   a negative count or more than 2000 `disruptedPods` is a 403. When allowed, the budget's
   status is updated first: `disruptionsAllowed` - 1 (and its condition when it reaches 0)
   and `disruptedPods[pod] = now`, so the controller does not count the pod as healthy while
   it goes.
5. The pod gets the condition `DisruptionTarget` (True, `EvictionByEvictionAPI`, "Eviction
   API: evicting") and is deleted with the eviction's `deleteOptions` (grace period,
   preconditions, dry run).

Upstream reads and updates the budget through its own client, retrying on conflicts (20
times, 0.5 s apart). Here steps 2-5 run under the store's write lock, the same lock every
write of the budget (the disruption controller's status updates included) takes, so no other
writer can come between the check and the decrement and there is nothing to retry.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.registry import deletion
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.resources import ResourceType, by_kind
from nodelab.kube.disruption_budgets import budgets_for, update_allowed_condition
from nodelab.kube.objects import Object, pod_ready
from nodelab.kubewire.go_value import go_v
from nodelab.kubewire.times import format_time

MAX_DISRUPTED_POD_SIZE = 2000
BUDGET_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget."
MULTIPLE_BUDGETS = ("This pod has more than one PodDisruptionBudget, which the eviction "
                    "subresource does not support.")
DISRUPTION_TARGET = {"type": "DisruptionTarget", "status": "True",
                     "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}


# --- decisions ---------------------------------------------------------------------------


def can_ignore_budgets(pod: Object) -> bool:
    """`canIgnorePDB`: finished, not started or already being deleted."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending") \
        or bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def unhealthy_may_go(pod: Object, budget: Object) -> bool:
    """Step 3: a pod that is not Ready leaves without using the budget."""
    if pod_ready(pod):
        return False
    if (budget.get("spec") or {}).get("unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = budget.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return int(status.get("currentHealthy") or 0) >= desired > 0


def too_many_requests(cause: str, retry_after: int) -> errors.ApiError:
    details: dict[str, Any] = {"causes": [{"reason": "DisruptionBudget", "message": cause}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return errors.ApiError(429, "TooManyRequests", BUDGET_REFUSAL, details)


def still_processing(name: str) -> errors.ApiError:
    """`createTooManyRequestsError`."""
    return too_many_requests(f"The disruption budget {name} is still being processed by the "
                             "server.", 10)


def _forbidden(name: str, why: str) -> errors.ApiError:
    return errors.ApiError(403, "Forbidden", f'poddisruptionbudget.policy "{name}" is '
                           f"forbidden: {why}",
                           {"name": name, "group": "policy", "kind": "poddisruptionbudget"})


def decremented(budget: Object, pod_name: str, now: dt.datetime, dry_run: bool) -> Object:
    """`checkAndDecrement`: the budget's new status, or the refusal raised."""
    meta, status = budget.get("metadata") or {}, budget.get("status") or {}
    name = str(meta.get("name"))
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise still_processing(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_POD_SIZE:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed "
                               "by PDB controller")
    if allowed == 0:
        raise too_many_requests(
            f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
            f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently", 0)
    new = copy.deepcopy(status)
    new["disruptionsAllowed"] = allowed - 1
    if new["disruptionsAllowed"] == 0:
        update_allowed_condition(new, now)
    if not dry_run:
        new.setdefault("disruptedPods", {})[pod_name] = format_time(now)
    return new


def with_disruption_target(pod: Object, now: dt.datetime) -> bool:
    """`UpdatePodCondition` with the eviction's DisruptionTarget; whether the pod changed."""
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    for i, condition in enumerate(conditions):
        if condition.get("type") == "DisruptionTarget":
            same_status = condition.get("status") == DISRUPTION_TARGET["status"]
            stamp = condition.get("lastTransitionTime") if same_status else format_time(now)
            new = {**DISRUPTION_TARGET, "lastTransitionTime": stamp}
            conditions[i] = new
            return bool(new != condition)
    conditions.append({**DISRUPTION_TARGET, "lastTransitionTime": format_time(now)})
    return True


# --- the request -------------------------------------------------------------------------


def _delete_options(eviction: Object, query: dict[str, str]) -> Object:
    """`propagateDryRun`: the request's dryRun and the eviction's deleteOptions' agree."""
    options = copy.deepcopy(eviction.get("deleteOptions") or {})
    asked = [query["dryRun"]] if query.get("dryRun") else []
    if not options.get("dryRun"):
        options["dryRun"] = asked
    elif asked and options["dryRun"] != asked:  # a plain Go error: a 500 without a reason
        raise errors.ApiError(500, "", "Non-matching dry-run options in request and content: "
                              f"{go_v(asked)} and {go_v(options['dryRun'])}")
    return options


def _delete(registry: Registry, pods: ResourceType, namespace: str, name: str,
            options: Object, now: dt.datetime) -> None:
    """`addConditionAndDeletePod`."""
    query = {"dryRun": "All"} if options.get("dryRun") else {}
    if not query:
        pod = registry.store.get(pods.storage_key, namespace, name)
        if pod is None:
            raise errors.not_found("pods", name)
        preconditions = options.get("preconditions") or {}
        meta = pod["metadata"]
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise errors.conflict("Pod", name, "", f"the UID in the precondition "
                                  f"({preconditions['uid']}) does not match the UID in record "
                                  f"({meta.get('uid')}). The object might have been deleted and "
                                  "then recreated")
        rv = preconditions.get("resourceVersion")
        if rv and rv != meta.get("resourceVersion"):
            raise errors.conflict("Pod", name, "", f"the ResourceVersion in the precondition "
                                  f"({rv}) does not match the ResourceVersion in record "
                                  f"({meta.get('resourceVersion')}). The object might have been "
                                  "modified")
        if with_disruption_target(pod, now):
            updated = registry.update(pods, namespace, name, pod, {}, subresource="status").obj
            if rv:
                options = {**options, "preconditions": {
                    **preconditions, "resourceVersion": updated["metadata"]["resourceVersion"]}}
    deletion.delete(registry, pods, namespace, name, deletion.checked(options), query)


def evict(registry: Registry, pods: ResourceType, namespace: str, name: str, eviction: Object,
          query: dict[str, str], now: dt.datetime | None = None) -> Object:
    """POST pods/NAME/eviction: the Status to answer (201 Success, or the 500 of step 2)."""
    when = now or dt.datetime.now(dt.timezone.utc)
    target = (eviction.get("metadata") or {}).get("name")
    if target and target != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options = _delete_options(eviction, query)
    dry_run = bool(options.get("dryRun"))
    budgets_rt = by_kind("policy", "PodDisruptionBudget")
    assert budgets_rt is not None
    with registry.write_lock:
        pod = registry.store.get(pods.storage_key, namespace, name)
        if pod is None:
            raise errors.not_found("pods", name)
        ours_rv = not (options.get("preconditions") or {}).get("resourceVersion")
        if can_ignore_budgets(pod):
            phase = (pod.get("status") or {}).get("phase")
            if ours_rv and phase == "Pending" and not pod["metadata"].get("deletionTimestamp"):
                options = {**options, "preconditions": {
                    **(options.get("preconditions") or {}),
                    "resourceVersion": pod["metadata"]["resourceVersion"]}}
            _delete(registry, pods, namespace, name, options, when)
            return _success()
        budgets = budgets_for(pod, registry.store.select(budgets_rt.storage_key, namespace)[0])
        if len(budgets) > 1:
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": MULTIPLE_BUDGETS, "code": 500}
        guard_rv = False
        if budgets:
            budget = budgets[0]
            if unhealthy_may_go(pod, budget):
                guard_rv = True
            else:
                status = decremented(budget, name, when, dry_run)
                if not dry_run:
                    registry.update(budgets_rt, namespace, budget["metadata"]["name"],
                                    {**budget, "status": status}, {}, subresource="status")
        if guard_rv:
            options = {**options, "preconditions": {
                **(options.get("preconditions") or {}),
                "resourceVersion": pod["metadata"]["resourceVersion"]}}
        try:
            _delete(registry, pods, namespace, name, options, when)
        except errors.ApiError as exc:
            if exc.reason == "Conflict" and guard_rv and ours_rv:
                raise still_processing(budgets[0]["metadata"]["name"]) from exc
            raise
    return _success()


def _success() -> Object:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}
