"""Validation of a `metav1.LabelSelector` (upstream's metav1validation.ValidateLabelSelector),
with upstream's field paths and texts: the pod scheduling fields (affinity terms, topology
spread constraints), PodDisruptionBudgets and RBAC's aggregation rules select with it.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.label_selectors import LABEL_OPERATORS


def label_selector(errors: FieldErrors, path: str, selector: Any) -> None:
    """A `metav1.LabelSelector` at `path` (None: nothing to check): its matchLabels, and each
    matchExpressions requirement's operator, key and values (each a valid label value; upstream's
    AllowInvalidLabelValueInSelector only spares objects stored before that check existed)."""
    if selector is None:
        return
    if not isinstance(selector, dict):
        errors.invalid(path, selector, "must be an object")
        return
    errors.labels(f"{path}.matchLabels", selector.get("matchLabels"))
    for i, requirement in enumerate(selector.get("matchExpressions") or []):
        where = f"{path}.matchExpressions[{i}]"
        requirement = requirement if isinstance(requirement, dict) else {}
        operator, values = requirement.get("operator"), requirement.get("values") or []
        if operator in ("In", "NotIn") and not values:
            errors.required(f"{where}.values",
                            "must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist") and values:
            errors.forbidden(f"{where}.values",
                             "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        elif operator not in LABEL_OPERATORS:
            errors.invalid(f"{where}.operator", operator, "not a valid selector operator")
        errors.qualified_name(f"{where}.key", requirement.get("key", ""))
        for j, value in enumerate(values if isinstance(values, list) else []):
            errors.label_value(f"{where}.values[{j}]", value)
