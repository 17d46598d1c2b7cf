"""The PodDisruptionBudget knowledge the eviction API and the disruption controller share
(nodelab/kube/disruption_budgets.py), as tables: which budgets select a pod (policy/v1), the
DisruptionAllowed condition (component-helpers' UpdateDisruptionAllowedCondition and
ConditionsAreUpToDate) and apimachinery's SetStatusCondition."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.kube.disruption_budgets import (
    budgets_for,
    conditions_up_to_date,
    pods_for,
    selects,
    set_condition,
    update_allowed_condition,
)
from nodelab.kubewire.times import format_time

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.timezone.utc)
BEFORE = "2026-01-01T00:00:00Z"
WEB = {"matchLabels": {"app": "web"}}


def pod(name: str = "p", labels: dict[str, str] | None = None,
        namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace,
                         "labels": {"app": "web"} if labels is None else labels}}


def budget(name: str = "web", selector: Any = WEB, namespace: str = "default",
           generation: int = 1, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"minAvailable": 1}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation},
            "spec": spec, "status": status}


@pytest.mark.parametrize(("subject", "target", "selected"), [
    (budget(), pod(), True),
    (budget(selector={"matchLabels": {"app": "db"}}), pod(), False),
    (budget(selector={}), pod(labels={}), True),  # policy/v1: {} selects every pod
    (budget(selector=None), pod(), False),  # a missing selector selects none
    (budget(), pod(namespace="other"), False),  # only its own namespace
    (budget(selector={"matchExpressions": [
        {"key": "app", "operator": "NotIn", "values": ["web"]}]}), pod(labels={"app": "db"}),
     True),
])
def test_which_pods_a_budget_selects(subject: Any, target: Any, selected: bool) -> None:
    assert selects(subject, target) is selected
    assert budgets_for(target, [subject]) == ([subject] if selected else [])
    assert pods_for(subject, [target]) == ([target] if selected else [])


def test_selection_keeps_the_order_given() -> None:
    budgets = [budget("b"), budget("a", selector={}), budget("c", selector=None)]
    assert [b["metadata"]["name"] for b in budgets_for(pod(), budgets)] == ["b", "a"]
    pods = [pod("z"), pod("y", labels={"app": "db"}), pod("x")]
    assert [p["metadata"]["name"] for p in pods_for(budget(), pods)] == ["z", "x"]


def condition(status: str, reason: str, generation: int = 1,
              since: str = BEFORE) -> dict[str, Any]:
    return {"type": "DisruptionAllowed", "status": status, "reason": reason, "message": "",
            "observedGeneration": generation, "lastTransitionTime": since}


@pytest.mark.parametrize(("allowed", "before", "after"), [
    (1, [], [condition("True", "SufficientPods", since=format_time(NOW))]),
    (0, [], [condition("False", "InsufficientPods", since=format_time(NOW))]),
    (-1, [], [condition("False", "InsufficientPods", since=format_time(NOW))]),
    # the status changes: a new transition time
    (0, [condition("True", "SufficientPods")],
     [condition("False", "InsufficientPods", since=format_time(NOW))]),
    # the same status: the old transition time, the new reason and generation kept
    (0, [condition("False", "SyncFailed", generation=0)],
     [condition("False", "InsufficientPods")]),
])
def test_the_disruption_allowed_condition(allowed: int, before: list[Any],
                                          after: list[Any]) -> None:
    status: dict[str, Any] = {"disruptionsAllowed": allowed, "observedGeneration": 1,
                              "conditions": before}
    update_allowed_condition(status, NOW)
    assert status["conditions"] == after


def test_set_condition_leaves_other_conditions_alone() -> None:
    other = {"type": "Other", "status": "True"}
    conditions: list[Any] = [other]
    set_condition(conditions, {"type": "DisruptionAllowed", "status": "True",
                               "reason": "SufficientPods", "message": "",
                               "observedGeneration": 2}, NOW)
    assert conditions == [other, condition("True", "SufficientPods", 2, format_time(NOW))]


@pytest.mark.parametrize(("subject", "up_to_date"), [
    (budget(disruptionsAllowed=1, observedGeneration=1,
            conditions=[condition("True", "SufficientPods")]), True),
    (budget(disruptionsAllowed=0, observedGeneration=1,
            conditions=[condition("False", "InsufficientPods")]), True),
    (budget(disruptionsAllowed=0, observedGeneration=1,
            conditions=[condition("True", "SufficientPods")]), False),
    (budget(disruptionsAllowed=0, observedGeneration=1,
            conditions=[condition("False", "SyncFailed")]), False),
    (budget(generation=2, disruptionsAllowed=1, observedGeneration=1,
            conditions=[condition("True", "SufficientPods")]), False),  # a new generation
    (budget(disruptionsAllowed=1, observedGeneration=1), False),  # no condition yet
])
def test_conditions_up_to_date(subject: Any, up_to_date: bool) -> None:
    assert conditions_up_to_date(subject) is up_to_date
