"""The one label matcher (nodelab/kube/label_selectors.py), as upstream's labels.Selector:
LabelSelector objects (LabelSelectorAsSelector), node selector requirements with Gt/Lt
(NodeSelectorRequirementsAsSelector) and the requirements parsed from a selector string."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kube.label_selectors import (
    NODE_OPERATORS,
    Requirement,
    expression_requirement,
    selector_matches,
)

pytestmark = pytest.mark.unit

LABELS = {"app": "web", "tier": "front", "n": "5", "empty": ""}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(values)}


@pytest.mark.parametrize(("selector", "matches"), [
    (None, False),  # a missing selector matches nothing
    ({}, True),  # an empty one everything
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchLabels": {"app": "web", "tier": "back"}}, False),
    ({"matchLabels": {"other": ""}}, False),  # = needs the label
    ({"matchLabels": {"empty": ""}}, True),
    ({"matchExpressions": [expr("app", "In", "db", "web")]}, True),
    ({"matchExpressions": [expr("other", "In", "web")]}, False),
    ({"matchExpressions": [expr("app", "NotIn", "web")]}, False),
    ({"matchExpressions": [expr("other", "NotIn", "web")]}, True),  # NotIn passes without it
    ({"matchExpressions": [expr("tier", "Exists")]}, True),
    ({"matchExpressions": [expr("other", "Exists")]}, False),
    ({"matchExpressions": [expr("tier", "DoesNotExist")]}, False),
    ({"matchExpressions": [expr("other", "DoesNotExist")]}, True),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [expr("tier", "NotIn", "front")]},
     False),  # every requirement must hold
    ({"matchExpressions": [expr("n", "Gt", "3")]}, False),  # not a label selector operator
    ({"matchExpressions": [expr("app", "Like", "web")]}, False),  # unknown: nothing
])
def test_a_label_selector_object(selector: dict[str, Any] | None, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches


@pytest.mark.parametrize(("expression", "matches"), [
    (expr("n", "Gt", "3"), True),
    (expr("n", "Gt", "5"), False),
    (expr("n", "Lt", "6"), True),
    (expr("n", "Lt", "5"), False),
    (expr("app", "Gt", "3"), False),  # the label is no integer
    (expr("n", "Gt", "x"), False),
    (expr("other", "Lt", "3"), False),  # no label
    (expr("n", "Gt", "3", "4"), False),  # one value only
    (expr("app", "In", "web"), True),
    (expr("other", "DoesNotExist"), True),
])
def test_a_node_selector_requirement(expression: dict[str, Any], matches: bool) -> None:
    requirement = expression_requirement(expression, NODE_OPERATORS)
    assert requirement.matches(LABELS.get(requirement.key)) is matches


@pytest.mark.parametrize(("requirement", "value", "matches"), [
    (Requirement("k", "=", ("a",)), "a", True),
    (Requirement("k", "=", ("a",)), None, False),
    (Requirement("k", "!=", ("a",)), None, True),
    (Requirement("k", "!=", ("a",)), "a", False),
    (Requirement("k", "in", ("a", "b")), "b", True),
    (Requirement("k", "notin", ("a", "b")), "c", True),
    (Requirement("k", "exists"), "", True),
    (Requirement("k", "!"), "", False),
    (Requirement("k", "gt", ("1",)), "2", True),
    (Requirement("k", "lt", ("1",)), "2", False),
])
def test_a_requirement(requirement: Requirement, value: str | None, matches: bool) -> None:
    assert requirement.matches(value) is matches
