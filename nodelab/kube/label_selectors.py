"""Label selectors matched as upstream's `labels.Selector` does: one `Requirement` type
(`nodelab.kubewire.labels`, with the selector grammar; the add-ons share it).

A selector is a list of requirements that must all hold, each a key, an operator and values
(upstream's `labels.Requirement`): `=` and `in` need the label with one of the values, `!=`
and `notin` pass without the label, `exists`/`!` ask only whether it is there, `gt`/`lt`
compare it as an integer. The API server parses them from a `?labelSelector=` string
(`controlplane/storage/selectors.py`); a `LabelSelector` object (`matchLabels`,
`matchExpressions`) becomes them as `metav1.LabelSelectorAsSelector` does, a node selector
requirement (with Gt/Lt) as `NodeSelectorRequirementsAsSelector`.

Upstream tells a missing selector from an empty one, and the scheduler relies on it: a
missing (nil) selector matches **nothing**, an empty one (`{}`) matches **everything**.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.kubewire.labels import Requirement, all_match

__all__ = ["LABEL_OPERATORS", "NODE_OPERATORS", "Requirement", "expression_requirement",
           "go_string", "selector_is_empty", "selector_matches", "selector_requirements",
           "selector_text", "with_requirements"]

# a LabelSelector's operators as the selector grammar names them; a node selector adds Gt/Lt
LABEL_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
NODE_OPERATORS = {**LABEL_OPERATORS, "Gt": "gt", "Lt": "lt"}


def expression_requirement(expression: Mapping[str, Any],
                           operators: Mapping[str, str] = LABEL_OPERATORS) -> Requirement:
    """One `matchExpressions` entry (an operator not in `operators` matches nothing)."""
    return Requirement(str(expression.get("key", "")),
                       operators.get(expression.get("operator", ""), ""),
                       tuple(expression.get("values") or ()))


def selector_requirements(selector: Mapping[str, Any]) -> list[Requirement]:
    """A `LabelSelector` object's requirements: `matchLabels`, then `matchExpressions`."""
    return [*(Requirement(k, "=", (v,)) for k, v in (selector.get("matchLabels") or {}).items()),
            *(expression_requirement(e) for e in selector.get("matchExpressions") or [])]


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether `labels` satisfy `selector` (None, a missing selector, matches nothing)."""
    if selector is None:
        return False
    return all_match(selector_requirements(selector), labels)


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


def go_string(selector: Any) -> str:
    """A `*metav1.LabelSelector` as Go prints it with `%v`/`%+v` (its generated `String()`;
    nil as `nil`): upstream's controllers put it in their event and condition texts."""
    if not isinstance(selector, Mapping):
        return "nil"
    labels = "".join(f"{key}: {value}," for key, value in
                     sorted((selector.get("matchLabels") or {}).items()))
    expressions = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{expressions}}},}}")


def selector_text(selector: Mapping[str, Any] | None) -> str:
    """A `LabelSelector` as kubectl's columns print it (`metav1.FormatLabelSelector`: the
    selector's `String()`, requirements sorted by key, `<none>` when it has none)."""
    if selector is None:
        return "<none>"
    parts = []
    for requirement in sorted(selector_requirements(selector), key=lambda r: r.key):
        values = ",".join(sorted(requirement.values))
        parts.append({"=": f"{requirement.key}={values}",
                      "in": f"{requirement.key} in ({values})",
                      "notin": f"{requirement.key} notin ({values})",
                      "exists": requirement.key,
                      "!": f"!{requirement.key}"}.get(requirement.operator, requirement.key))
    return ",".join(parts) or "<none>"
