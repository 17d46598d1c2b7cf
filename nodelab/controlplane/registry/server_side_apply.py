"""Server-side apply (`PATCH` with `application/apply-patch+yaml`), as far as kubectl needs it.

An apply configuration is the whole intent of one field manager (`fieldManager=kubectl`). The
server:

1. refuses (409, one cause per field) to change a field another manager owns with a different
   value, unless `force=true` (`kubectl apply --server-side --force-conflicts`);
2. merges the configuration into the live object strategically;
3. removes the fields the same manager applied last time but no longer does, unless another
   manager also owns them (this is what deletes a label you took out of the file);
4. records the manager's `Apply` entry in `managedFields` (see `managedfields.py`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from nodelab.controlplane import errors
from nodelab.controlplane.registry import fieldpaths, managedfields, strategicpatch
from nodelab.controlplane.registry.fieldpaths import Path
from nodelab.kube.objects import Object
from nodelab.kube.schema import Node


def document(raw: bytes) -> Any:
    """An apply configuration: JSON (what kubectl sends) or YAML."""
    try:
        return json.loads(raw)
    except ValueError:
        return yaml.safe_load(raw)


def _conflict_error(current: Object, conflicts: list[tuple[str, Path]]) -> errors.ApiError:
    version = str(current.get("apiVersion", ""))
    lines = [f'conflict with "{manager}" using {version}: {fieldpaths.describe(path)}'
             for manager, path in conflicts]
    noun = "conflict" if len(conflicts) == 1 else "conflicts"
    message = f"Apply failed with {len(conflicts)} {noun}: " + "\n".join(lines)
    meta = current.get("metadata") or {}
    details: dict[str, Any] = {
        "name": meta.get("name", ""), "kind": current.get("kind", ""),
        "causes": [{"reason": "FieldManagerConflict",
                    "message": f'conflict with "{manager}" using {version}',
                    "field": fieldpaths.describe(path)} for manager, path in conflicts]}
    return errors.ApiError(409, "Conflict", message, details)


def merge(current: Object, applied: Any, query: dict[str, str], schema: Node) -> Object:
    """The object after applying `applied` as the manager named in `query`."""
    if not isinstance(applied, dict):
        raise errors.bad_request("apply configuration must be an object")
    manager = query.get("fieldManager") or "unknown"
    entries = (current.get("metadata") or {}).get("managedFields") or []
    conflicts = managedfields.apply_conflicts(current, applied, manager, schema)
    if conflicts and query.get("force") != "true":
        raise _conflict_error(current, conflicts)
    mine: Object = next((e for e in entries if e.get("manager") == manager
                 and e.get("operation") == "Apply"), {})
    previous = fieldpaths.from_fields_v1(mine.get("fieldsV1"))
    now = managedfields.owned_by_object(applied, schema)
    others: set[Path] = set()
    for entry in entries:
        if entry is not mine:
            others |= fieldpaths.from_fields_v1(entry.get("fieldsV1"))
    merged: Object = strategicpatch.apply(current, applied, schema)
    kept = others | now
    dropped = {path for path in previous - now  # unless someone still owns it or a field in it
               if not any(p[:len(path)] == path for p in kept)}
    for path in dropped:
        if not any(path[:n] in dropped for n in range(1, len(path))):
            fieldpaths.remove(merged, path)  # (an item goes with its fields)
    merged.setdefault("metadata", {})["managedFields"] = managedfields.record_apply(
        entries, applied, manager, {path for _, path in conflicts}, schema)
    return merged
