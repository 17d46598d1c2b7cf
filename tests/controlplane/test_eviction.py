"""The eviction API's decisions (registry/eviction.py), as upstream's eviction_test.go:
which pods skip the budget, when an unhealthy pod may go, the
check-and-decrement and its refusals, the DisruptionTarget condition. (The request itself,
against a real API server: tests/controlplane/controllers/test_disruption.py; which budgets
select a pod: tests/kube/test_disruption_budgets.py.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.controlplane.errors import ApiError
from nodelab.controlplane.registry.eviction import (
    can_ignore_budgets,
    decremented,
    unhealthy_may_go,
    with_disruption_target,
)
from nodelab.kubewire.times import format_time

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.timezone.utc)


def pod(phase: str = "Running", ready: bool = True, deleting: bool = False,
        labels: dict[str, str] | None = None, namespace: str = "default") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": namespace,
                            "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = format_time(NOW)
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def budget(name: str = "web", generation: int = 1, selector: Any = None,
           policy: str | None = None, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"minAvailable": 2}
    if selector is not False:
        spec["selector"] = {"matchLabels": {"app": "web"}} if selector is None else selector
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"metadata": {"name": name, "namespace": "default", "generation": generation},
            "spec": spec, "status": {"observedGeneration": 1, **status}}


@pytest.mark.parametrize(("subject", "ignored"), [
    (pod(), False),
    (pod(phase="Succeeded"), True),
    (pod(phase="Failed"), True),
    (pod(phase="Pending"), True),
    (pod(deleting=True), True),
])
def test_can_ignore_budgets(subject: dict[str, Any], ignored: bool) -> None:
    assert can_ignore_budgets(subject) is ignored


@pytest.mark.parametrize(("subject", "policy", "status", "may_go"), [
    (pod(), None, {"currentHealthy": 5, "desiredHealthy": 2}, False),  # Ready: uses budget
    (pod(ready=False), None, {"currentHealthy": 2, "desiredHealthy": 2}, True),
    (pod(ready=False), "IfHealthyBudget", {"currentHealthy": 3, "desiredHealthy": 2}, True),
    (pod(ready=False), None, {"currentHealthy": 1, "desiredHealthy": 2}, False),
    (pod(ready=False), None, {"currentHealthy": 0, "desiredHealthy": 0}, False),  # desired 0
    (pod(ready=False), "AlwaysAllow", {"currentHealthy": 0, "desiredHealthy": 2}, True),
    (pod(), "AlwaysAllow", {"currentHealthy": 0, "desiredHealthy": 2}, False),
])
def test_unhealthy_may_go(subject: dict[str, Any], policy: str | None, status: dict[str, Any],
                          may_go: bool) -> None:
    assert unhealthy_may_go(subject, budget(policy=policy, **status)) is may_go


def test_decrement_records_the_pod_and_turns_the_condition() -> None:
    status = decremented(budget(disruptionsAllowed=1, currentHealthy=3, desiredHealthy=2,
                                conditions=[{"type": "DisruptionAllowed", "status": "True",
                                             "reason": "SufficientPods", "message": "",
                                             "observedGeneration": 1,
                                             "lastTransitionTime": "2026-01-01T00:00:00Z"}]),
                         "p", NOW, dry_run=False)
    assert status["disruptionsAllowed"] == 0
    assert status["disruptedPods"] == {"p": format_time(NOW)}
    assert status["conditions"] == [{"type": "DisruptionAllowed", "status": "False",
                                     "reason": "InsufficientPods", "message": "",
                                     "observedGeneration": 1,
                                     "lastTransitionTime": format_time(NOW)}]
    more = decremented(budget(disruptionsAllowed=3), "p", NOW, dry_run=True)
    assert more["disruptionsAllowed"] == 2 and "disruptedPods" not in more
    assert "conditions" not in more


@pytest.mark.parametrize(("subject", "code", "message", "details"), [
    (budget(disruptionsAllowed=0, currentHealthy=2, desiredHealthy=2), 429,
     "Cannot evict pod as it would violate the pod's disruption budget.",
     {"causes": [{"reason": "DisruptionBudget",
                  "message": "The disruption budget web needs 2 healthy pods and has 2 "
                             "currently"}]}),
    (budget(generation=2, disruptionsAllowed=4), 429,
     "Cannot evict pod as it would violate the pod's disruption budget.",
     {"causes": [{"reason": "DisruptionBudget",
                  "message": "The disruption budget web is still being processed by the "
                             "server."}], "retryAfterSeconds": 10}),
    (budget(disruptionsAllowed=-1), 403,
     'poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative',
     None),
    (budget(disruptionsAllowed=1, disruptedPods={str(i): "x" for i in range(2001)}), 403,
     'poddisruptionbudget.policy "web" is forbidden: DisruptedPods map too big - too many '
     "evictions not confirmed by PDB controller", None),
])
def test_refusals(subject: dict[str, Any], code: int, message: str,
                  details: dict[str, Any] | None) -> None:
    with pytest.raises(ApiError) as caught:
        decremented(subject, "p", NOW, dry_run=False)
    assert (caught.value.code, caught.value.message) == (code, message)
    if details is not None:
        assert caught.value.details == details


def test_disruption_target_condition() -> None:
    subject = pod()
    assert with_disruption_target(subject, NOW)
    target = subject["status"]["conditions"][-1]
    assert target == {"type": "DisruptionTarget", "status": "True",
                      "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting",
                      "lastTransitionTime": format_time(NOW)}
    later = NOW + dt.timedelta(seconds=9)
    assert not with_disruption_target(subject, later)  # already there: unchanged
    subject["status"]["conditions"][-1]["status"] = "False"
    assert with_disruption_target(subject, later)
    assert subject["status"]["conditions"][-1]["lastTransitionTime"] == format_time(later)
