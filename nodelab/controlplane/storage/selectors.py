"""Label and field selectors: parsing them (as upstream's grammar) and matching objects.

A label selector is a comma-separated list of requirements: `k=v`, `k==v`, `k!=v`,
`k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>n`, `k<n`.
A field selector supports only `=`, `==` and `!=`, and only the fields each resource
declares selectable (upstream: the resource's `GetAttrs`); anything else is a 400 error, as
kube-apiserver answers "field label not supported". Both are lists of
`nodelab.kube.label_selectors.Requirement`, the one matcher of labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from nodelab.controlplane.errors import bad_request
from nodelab.kube.label_selectors import Requirement
from nodelab.kube.objects import Object

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


_SET = re.compile(r"^\s*([^\s!=<>(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*")
_TERM = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s*(?:(==|=|!=|>|<)\s*([^\s,()]*))?\s*")


def parse_labels(text: str) -> list[Requirement]:
    """Parse a label selector string; raises a 400 ApiError when malformed."""
    requirements: list[Requirement] = []
    rest = text.strip()
    while rest:
        match = _SET.match(rest)
        if match:
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            requirements.append(Requirement(match.group(1), match.group(2), values))
        else:
            match = _TERM.match(rest)
            if not match or (match.group(1) and match.group(3)):
                raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
            negate, key, op, value = match.groups()
            if negate:
                requirements.append(Requirement(key, "!"))
            elif op is None:
                requirements.append(Requirement(key, "exists"))
            else:
                name = {"==": "=", ">": "gt", "<": "lt"}.get(op, op)
                requirements.append(Requirement(key, name, (value or "",)))
        rest = rest[match.end():].lstrip()
        if rest.startswith(","):
            rest = rest[1:]
        elif rest:
            raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
    return requirements


def parse_fields(text: str, storage_key: str) -> list[Requirement]:
    """Parse a field selector; only fields `storage_key` supports are allowed (else 400)."""
    allowed = _COMMON_FIELDS + FIELDS.get(storage_key, ())
    requirements: list[Requirement] = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", term)
        if not match:
            raise bad_request(f"invalid field selector: {term!r}")
        key, op, value = match.groups()
        if key not in allowed:
            raise bad_request(f'field label not supported: {key}')
        requirements.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
    return requirements


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
