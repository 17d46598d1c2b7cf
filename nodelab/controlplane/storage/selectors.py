"""Label and field selectors: parsing them (as upstream's grammar) and matching objects.

A label selector is a comma-separated list of requirements: `k=v`, `k==v`, `k!=v`,
`k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>n`, `k<n`.
A field selector supports only `=`, `==` and `!=`, and only the fields each resource
declares selectable (upstream: the resource's `GetAttrs`); anything else is a 400 error, as
kube-apiserver answers "field label not supported". Both are lists of
`nodelab.kube.label_selectors.Requirement`, the one matcher of labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.controlplane.errors import bad_request
from nodelab.kube.objects import Object
from nodelab.kubewire.labels import Requirement, parse_field_selector, parse_selector

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
FIELDS: dict[str, tuple[str, ...]] = {
    "core/pods": (
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
    ),
    "core/events": (
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    ),
    "core/nodes": ("spec.unschedulable",),
    "core/namespaces": ("status.phase",),
    "core/secrets": ("type",),
    "core/services": ("spec.clusterIP", "spec.type"),
    "core/replicationcontrollers": ("status.replicas",),
    "apps/replicasets": ("status.replicas",),
}


def parse_labels(text: str) -> list[Requirement]:
    """Parse a label selector string; raises a 400 ApiError when malformed."""
    try:
        return parse_selector(text)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def parse_fields(text: str, storage_key: str, extra: tuple[str, ...] = ()) -> list[Requirement]:
    """Parse a field selector; only fields `storage_key` supports (and `extra`: a custom
    resource's `selectableFields`) are allowed (else 400)."""
    try:
        return parse_field_selector(text, _COMMON_FIELDS + FIELDS.get(storage_key, ()) + extra)
    except ValueError as exc:
        raise bad_request(str(exc)) from exc


def field_value(obj: Object, path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def summary(storage_key: str, obj: Object) -> Object:
    """The part of an object selectors look at (name, namespace, labels, selectable fields),
    kept beside the stored JSON so a list with selectors needs no parsing."""
    meta = obj.get("metadata") or {}
    small: Object = {"metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"),
                                  "labels": meta.get("labels") or {}}}
    for path in FIELDS.get(storage_key, ()):
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        node = small
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return small


def matcher(labels: list[Requirement], fields: list[Requirement]) -> Callable[[Object], bool]:
    def matches(obj: Object) -> bool:
        object_labels = (obj.get("metadata") or {}).get("labels") or {}
        for req in labels:
            if not req.matches(object_labels.get(req.key)):
                return False
        return all(req.matches(field_value(obj, req.key)) for req in fields)

    return matches
