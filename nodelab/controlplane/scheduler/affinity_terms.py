"""Pod affinity terms as upstream's scheduler reads them (`fwk.AffinityTerm`).

A `PodAffinityTerm` selects pods by labels (`labelSelector`) in some namespaces and names a
`topologyKey`: "the pods this term selects, in the same <topologyKey> domain as the node".
Its namespaces are `namespaces` plus those `namespaceSelector` matches; with neither, only the
namespace of the pod that carries the term. A missing selector matches nothing, an empty one
everything (`kube/label_selectors.py`). `matchLabelKeys`/`mismatchLabelKeys` need nothing
here: the API server merged them into `labelSelector` when the pod was created, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import ObjectView

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


@dataclass(frozen=True)
class AffinityTerm:
    namespaces: frozenset[str]
    namespace_selector: Mapping[str, Any] | None
    selector: Mapping[str, Any] | None
    topology_key: str
    weight: int = 0

    def matches(self, pod: ObjectView, namespace_labels: Mapping[str, str] | None) -> bool:
        """Upstream's AffinityTerm.Matches: the pod's namespace is one of the term's (by
        name, or its labels match namespaceSelector) and its labels match the selector."""
        metadata = pod.get("metadata") or {}
        in_namespace = metadata.get("namespace", "default") in self.namespaces or (
            namespace_labels is not None
            and selector_matches(self.namespace_selector, namespace_labels))
        return in_namespace and selector_matches(self.selector, metadata.get("labels") or {})


def _term(owner: ObjectView, raw: Mapping[str, Any], weight: int = 0) -> AffinityTerm:
    namespaces = frozenset(raw.get("namespaces") or ())
    namespace_selector = raw.get("namespaceSelector")
    if not namespaces and namespace_selector is None:
        namespaces = frozenset({(owner.get("metadata") or {}).get("namespace", "default")})
    return AffinityTerm(namespaces, namespace_selector, raw.get("labelSelector"),
                        str(raw.get("topologyKey") or ""), weight)


def _section(pod: ObjectView, kind: str) -> Mapping[str, Any]:
    return ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}


def required_terms(pod: ObjectView, kind: str) -> list[AffinityTerm]:
    """The required terms of `kind` (`podAffinity` or `podAntiAffinity`) of `pod`."""
    return [_term(pod, raw) for raw in _section(pod, kind).get(REQUIRED) or []]


def preferred_terms(pod: ObjectView, kind: str) -> list[AffinityTerm]:
    """The preferred (weighted) terms of `kind` of `pod`."""
    return [_term(pod, w.get("podAffinityTerm") or {}, int(w.get("weight") or 0))
            for w in _section(pod, kind).get(PREFERRED) or []]


def has_pod_affinity(pod: ObjectView) -> bool:
    affinity = (pod.get("spec") or {}).get("affinity") or {}
    return bool(affinity.get("podAffinity") or affinity.get("podAntiAffinity"))
