"""Server-side apply (`PATCH` with `application/apply-patch+yaml`), as far as kubectl needs it.

An apply configuration is the whole intent of one field manager (`fieldManager=kubectl`). The
server merges it into the live object strategically, records the fields it names in a
`managedFields` entry (`operation: Apply`, `fieldsV1` in upstream's `f:` notation), and removes
the map fields the same manager applied last time but no longer does, which is what makes
`kubectl apply --server-side` delete a label you took out of the file. Field ownership
conflicts between managers are not detected (every apply behaves as `--force-conflicts`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from nodelab.controlplane import objects, patches, status

Object = dict[str, Any]


def document(raw: bytes) -> Any:
    """An apply configuration: JSON (what kubectl sends) or YAML."""
    try:
        return json.loads(raw)
    except ValueError:
        return yaml.safe_load(raw)


def merge(current: Object, document: Any, query: dict[str, str]) -> Object:
    """Merge an applied configuration; drop what this manager applied before and no longer does."""
    if not isinstance(document, dict):
        raise status.bad_request("apply configuration must be an object")
    manager = query.get("fieldManager") or "unknown"
    entries = (current.get("metadata") or {}).get("managedFields") or []
    previous = next((m.get("fieldsV1") or {} for m in entries
                     if m.get("manager") == manager and m.get("operation") == "Apply"), {})
    entry = managed_entry(document, query)
    merged: Object = patches.strategic_merge_patch(current, document)
    _drop_unapplied(merged, previous, entry["fieldsV1"])
    managed = [m for m in entries
               if not (m.get("manager") == manager and m.get("operation") == "Apply")]
    managed.append(entry)
    merged.setdefault("metadata", {})["managedFields"] = managed
    return merged


def _drop_unapplied(obj: Any, previous: Any, current: Any) -> None:
    """Remove map fields set by an earlier apply of the same manager and absent from this one."""
    if not isinstance(obj, dict) or not isinstance(previous, dict):
        return
    current = current if isinstance(current, dict) else {}
    for key, owned in previous.items():
        if not key.startswith("f:"):
            continue
        name = key[2:]
        if key not in current:
            if name not in ("apiVersion", "kind", "metadata"):
                obj.pop(name, None)
        elif owned and current[key]:
            _drop_unapplied(obj.get(name), owned, current[key])


def _fields_v1(value: Any) -> Any:
    if not isinstance(value, dict):
        return {}
    return {f"f:{key}": _fields_v1(child) for key, child in value.items()}


def managed_entry(document: Object, query: dict[str, str]) -> Object:
    fields = {k: v for k, v in document.items() if k not in ("apiVersion", "kind")}
    meta = dict(fields.get("metadata") or {})
    for key in ("name", "namespace", "managedFields", "resourceVersion"):
        meta.pop(key, None)
    fields["metadata"] = meta
    return {
        "manager": query.get("fieldManager") or "unknown",
        "operation": "Apply",
        "apiVersion": str(document.get("apiVersion", "")),
        "time": objects.now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": _fields_v1(fields),
    }
