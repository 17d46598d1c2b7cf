"""`LabelSelector` objects matched as upstream's `metav1.LabelSelectorAsSelector` does.

A selector object is `matchLabels` (key = value) and `matchExpressions` (`In`, `NotIn`,
`Exists`, `DoesNotExist`), all of which must hold. Upstream tells a missing selector from an
empty one, and the scheduler relies on it: a missing (nil) selector matches **nothing**, an
empty one (`{}`) matches **everything**.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def requirement_holds(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One `matchExpressions` entry (a node selector's Gt/Lt are predicates.py's)."""
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = list(expression.get("values") or [])
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    return False  # validation refuses any other operator


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether `labels` satisfy `selector` (None, a missing selector, matches nothing)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(requirement_holds(e, labels) for e in selector.get("matchExpressions") or [])


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    """Upstream's `Selector.Empty()`: a present selector with no requirements at all."""
    return selector is not None and not selector.get("matchLabels") \
        and not selector.get("matchExpressions")


def with_requirements(selector: Mapping[str, Any] | None,
                      extra: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A copy of `selector` with more `matchExpressions` (None stays None: it matches nothing)."""
    if selector is None:
        return None
    merged = dict(selector)
    merged["matchExpressions"] = [*(selector.get("matchExpressions") or []), *extra]
    return merged
