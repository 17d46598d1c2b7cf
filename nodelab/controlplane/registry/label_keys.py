"""`matchLabelKeys` and `mismatchLabelKeys` merged into label selectors when a pod is created,
as upstream's pod strategy (PrepareForCreate: mutatePodAffinity, mutateTopologySpreadConstraints).

For each key the new pod has as a label, a pod affinity term gets `key In (value)` for a
`matchLabelKeys` entry and `key NotIn (value)` for a `mismatchLabelKeys` entry, and a topology
spread constraint gets `key In (value)` for a `matchLabelKeys` entry, appended to
`labelSelector.matchExpressions`. A term without a labelSelector is left alone (it matches
nothing anyway). Pods only: templates keep the keys, so each pod gets its own values (e.g.
`pod-template-hash`).
"""

from __future__ import annotations

from typing import Any

from nodelab.kube.objects import Object


def _apply(selector: Any, keys: Any, operator: str, labels: dict[str, Any]) -> None:
    if not isinstance(selector, dict) or not isinstance(keys, list):
        return
    expressions = selector.get("matchExpressions")
    expressions = list(expressions) if isinstance(expressions, list) else []
    for key in keys:
        if isinstance(key, str) and key in labels:
            expressions.append({"key": key, "operator": operator, "values": [labels[key]]})
    if expressions:
        selector["matchExpressions"] = expressions


def merge_label_keys(pod: Object) -> None:
    labels = (pod.get("metadata") or {}).get("labels")
    spec = pod.get("spec")
    if not isinstance(labels, dict) or not isinstance(spec, dict):
        return
    affinity = spec.get("affinity")
    for kind in ("podAffinity", "podAntiAffinity"):
        section = affinity.get(kind) if isinstance(affinity, dict) else None
        if not isinstance(section, dict):
            continue
        terms = list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [(w or {}).get("podAffinityTerm") for w in
                  section.get("preferredDuringSchedulingIgnoredDuringExecution") or []
                  if isinstance(w, dict)]
        for term in terms:
            if isinstance(term, dict):
                _apply(term.get("labelSelector"), term.get("matchLabelKeys"), "In", labels)
                _apply(term.get("labelSelector"), term.get("mismatchLabelKeys"), "NotIn", labels)
    for constraint in spec.get("topologySpreadConstraints") or []:
        if isinstance(constraint, dict):
            _apply(constraint.get("labelSelector"), constraint.get("matchLabelKeys"), "In",
                   labels)
