"""Validation of the pod fields the scheduler reads across pods: `affinity.podAffinity`,
`affinity.podAntiAffinity` and `topologySpreadConstraints` (upstream's validatePodAffinity,
validateTopologySpreadConstraints; their label selectors with `label_selectors.py`), with
upstream's field paths and texts.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.label_selectors import label_selector

ACTIONS = ["DoNotSchedule", "ScheduleAnyway"]
POLICIES = ["Honor", "Ignore"]
NOT_POSITIVE = "must be greater than zero"


def _label_keys(errors: FieldErrors, path: str, term: dict[str, Any]) -> None:
    """validateMatchLabelKeysAndMismatchLabelKeys (run after the keys were merged in)."""
    match, mismatch = term.get("matchLabelKeys") or [], term.get("mismatchLabelKeys") or []
    selector = term.get("labelSelector")
    for name, keys in (("matchLabelKeys", match), ("mismatchLabelKeys", mismatch)):
        if keys and selector is None:
            errors.forbidden(f"{path}.{name}", "must not be specified when labelSelector is "
                             "not set")
            continue
        for i, key in enumerate(keys):
            errors.qualified_name(f"{path}.{name}[{i}]", key)
    _duplicated_in_selector(errors, path, match, selector)  # (upstream's path lacks the field)
    for i, key in enumerate(match):
        if key in mismatch:
            errors.invalid(f"{path}.matchLabelKeys[{i}]", key,
                           "exists in both matchLabelKeys and mismatchLabelKeys")


def _affinity_term(errors: FieldErrors, path: str, term: Any) -> None:
    term = term if isinstance(term, dict) else {}
    _label_keys(errors, path, term)
    label_selector(errors, f"{path}.labelSelector", term.get("labelSelector"))
    label_selector(errors, f"{path}.namespaceSelector", term.get("namespaceSelector"))
    for name in term.get("namespaces") or []:
        errors.dns1123_label(f"{path}.namespace", name)
    key = term.get("topologyKey")
    if not key:
        errors.required(f"{path}.topologyKey", "can not be empty")
    errors.qualified_name(f"{path}.topologyKey", key or "")


def pod_affinity(errors: FieldErrors, path: str, affinity: Any) -> None:
    """`spec.affinity.podAffinity` and `podAntiAffinity`."""
    if not isinstance(affinity, dict):
        return
    for kind in ("podAffinity", "podAntiAffinity"):
        section = affinity.get(kind)
        if not isinstance(section, dict):
            continue
        where = f"{path}.{kind}"
        required = "requiredDuringSchedulingIgnoredDuringExecution"
        for i, term in enumerate(section.get(required) or []):
            _affinity_term(errors, f"{where}.{required}[{i}]", term)
        preferred = "preferredDuringSchedulingIgnoredDuringExecution"
        for i, weighted in enumerate(section.get(preferred) or []):
            weighted = weighted if isinstance(weighted, dict) else {}
            weight = weighted.get("weight")
            if not isinstance(weight, int) or not 1 <= weight <= 100:
                errors.invalid(f"{where}.{preferred}[{i}].weight", weight,
                               "must be in the range 1-100")
            _affinity_term(errors, f"{where}.{preferred}[{i}].podAffinityTerm",
                           weighted.get("podAffinityTerm"))


def topology_spread_constraints(errors: FieldErrors, path: str, constraints: Any) -> None:
    if not isinstance(constraints, list):
        return
    for i, c in enumerate(constraints):
        where = f"{path}[{i}]"
        c = c if isinstance(c, dict) else {}
        skew = c.get("maxSkew")
        if not isinstance(skew, int) or skew <= 0:
            errors.invalid(f"{where}.maxSkew", skew, NOT_POSITIVE)
        key, action = c.get("topologyKey"), c.get("whenUnsatisfiable")
        if not key:
            errors.required(f"{where}.topologyKey", "can not be empty")
        else:
            errors.qualified_name(f"{where}.topologyKey", key)
        if action not in ACTIONS:
            errors.unsupported(f"{where}.whenUnsatisfiable", action, ACTIONS)
        for other in constraints[i + 1:]:
            if isinstance(other, dict) and (other.get("topologyKey"), other.get(
                    "whenUnsatisfiable")) == (key, action):
                errors.duplicate(f"{where}.{{topologyKey, whenUnsatisfiable}}",
                                 f"{{{key}, {action}}}")
        domains = c.get("minDomains")
        if domains is not None:
            if not isinstance(domains, int) or domains <= 0:
                errors.invalid(f"{where}.minDomains", domains, NOT_POSITIVE)
            elif action != "DoNotSchedule":
                errors.invalid(f"{where}.minDomains", domains, "can only use minDomains if "
                               f"whenUnsatisfiable=DoNotSchedule, not {action}")
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            if c.get(policy) is not None and c[policy] not in POLICIES:
                errors.unsupported(f"{where}.{policy}", c[policy], POLICIES)
        _spread_label_keys(errors, f"{where}.matchLabelKeys", c)
        label_selector(errors, f"{where}.labelSelector", c.get("labelSelector"))


def _spread_label_keys(errors: FieldErrors, path: str, c: dict[str, Any]) -> None:
    keys = c.get("matchLabelKeys") or []
    if not keys:
        return
    if c.get("labelSelector") is None:
        errors.forbidden(path, "must not be specified when labelSelector is not set")
        return
    for i, key in enumerate(keys):
        errors.qualified_name(f"{path}[{i}]", key)
    _duplicated_in_selector(errors, path, keys, c["labelSelector"])


def _duplicated_in_selector(errors: FieldErrors, path: str, keys: list[Any],
                            selector: Any) -> None:
    """A matchLabelKeys key the selector already had: after the API server merged the keys
    in, it appears twice (upstream's validateLabelKeysWithSelector)."""
    if not isinstance(selector, dict):
        return
    index = {key: i for i, key in enumerate(keys)}
    seen = set(selector.get("matchLabels") or {})
    for requirement in selector.get("matchExpressions") or []:
        key = requirement.get("key") if isinstance(requirement, dict) else None
        if key in index and key in seen:
            errors.invalid(f"{path}[{index[key]}]", key,
                           "exists in both matchLabelKeys and labelSelector")
        seen.add(key)
