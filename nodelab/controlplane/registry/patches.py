"""The three patch formats of PATCH requests, as pure functions of (object, patch) -> object.

- `application/json-patch+json`: RFC 6902 operations (add, remove, replace, move, copy, test).
- `application/merge-patch+json`: RFC 7386; maps merge, `null` deletes, lists are replaced.
- `application/strategic-merge-patch+json`: Kubernetes' own. Like a merge patch, except that a
  list whose Go field is tagged `patchStrategy:"merge"` merges element by element on its
  `patchMergeKey` (containers by `name`, container ports by `containerPort`, conditions by
  `type`, ...), and the directives kubectl sends are honoured: `$patch: delete|replace|merge`,
  `$setElementOrder/<field>`, `$deleteFromPrimitiveList/<field>`, `$retainKeys`.
  The merge keys below are those of the built-in types this server serves.

Server-side apply (`application/apply-patch+yaml`) is built on the strategic merge here; see
`apply.py`.
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.controlplane.http.errors import ApiError, bad_request

# field name -> merge key (None: merge a list of primitives as a set)
MERGE_KEYS: dict[str, str | None] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumeMounts": "mountPath", "volumes": "name", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "hostAliases": "ip", "conditions": "type", "addresses": "type",
    "ownerReferences": "uid", "finalizers": None, "taints": "key", "podIPs": "ip",
    "hostIPs": "ip", "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
    "secrets": "name", "ports": "port", "containerStatuses": "name",
    "initContainerStatuses": "name", "podCIDRs": None,
}

Json = Any


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Json, parts: list[str]) -> Json:
    for part in parts:
        if isinstance(doc, dict):
            if part not in doc:
                raise _patch_error(f"path {'/'.join(parts)} does not exist")
            doc = doc[part]
        elif isinstance(doc, list):
            doc = doc[_index(doc, part, False)]
        else:
            raise _patch_error(f"path {'/'.join(parts)} does not exist")
    return doc


def _patch_error(message: str) -> ApiError:
    return ApiError(422, "Invalid", f"the server rejected our request due to an error in our "
                    f"request: {message}")


def _index(target: list[Any], part: str, adding: bool) -> int:
    if part == "-" and adding:
        return len(target)
    try:
        index = int(part)
    except ValueError as exc:
        raise _patch_error(f"invalid array index {part!r}") from exc
    if index < 0 or index > len(target) or (index == len(target) and not adding):
        raise _patch_error(f"array index {index} out of bounds")
    return index


def _add(doc: Json, parts: list[str], value: Json) -> Json:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1])
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], True), value)
    else:
        raise _patch_error("cannot add to a non-container")
    return doc


def _remove(doc: Json, parts: list[str]) -> Json:
    if not parts:
        raise _patch_error("cannot remove the whole document")
    parent = _resolve(doc, parts[:-1])
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise _patch_error(f"unable to remove nonexistent key {parts[-1]!r}")
        return parent.pop(parts[-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, parts[-1], False))
    raise _patch_error("cannot remove from a non-container")


def json_patch(doc: Json, operations: Json) -> Json:
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op:
            raise bad_request(f"invalid json patch operation {op!r}")
        kind, parts = op["op"], _pointer(str(op.get("path", "")))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _resolve(doc, parts)
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(str(op.get("from", "")))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(
                _resolve(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _resolve(doc, parts) != op.get("value"):
                raise _patch_error(f"testing value {op.get('path')} failed")
        else:
            raise bad_request(f"unknown json patch operation {kind!r}")
    return doc


def merge_patch(doc: Json, patch: Json) -> Json:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# top-level lists that are atomic in a kind although a list of that name merges elsewhere
ATOMIC_TOP_LEVEL: dict[str, frozenset[str]] = {
    "EndpointSlice": frozenset({"ports", "endpoints"}),
}


def strategic_merge_patch(doc: Json, patch: Json) -> Json:
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    base = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    atomic = ATOMIC_TOP_LEVEL.get(str(base.get("kind") or patch.get("kind") or ""), frozenset())
    replaced = {k: v for k, v in patch.items() if k in atomic and isinstance(v, list)}
    merged = _merge_map(base, {k: v for k, v in patch.items() if k not in replaced})
    merged.update(replaced)
    return merged


def _merge_map(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    retain = patch.get("$retainKeys")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(doc.get(field), list):
                doc[field] = [v for v in doc[field] if v not in value]
            continue
        if value is None:
            doc.pop(key, None)
        elif isinstance(value, dict):
            current = doc.get(key)
            merged = _merge_map(current if isinstance(current, dict) else {}, value)
            doc[key] = merged
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(doc.get(key), list):
            doc[key] = _merge_list(doc[key], value, key)
        elif isinstance(value, list):
            doc[key] = [_strip(v) for v in value if not _is_delete(v)]
        else:
            doc[key] = value
    for field, order in orders.items():
        if isinstance(doc.get(field), list):
            doc[field] = _reorder(doc[field], order, field)
    if isinstance(retain, list):
        doc = {k: v for k, v in doc.items() if k in retain}
    return doc


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$patch") == "delete"


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return _merge_map({}, value)
    return value


def _merge_key(field: str, items: list[Any]) -> str | None:
    key = MERGE_KEYS[field]
    if field == "ports" and any(isinstance(i, dict) and "containerPort" in i for i in items):
        return "containerPort"
    return key


def _merge_list(current: list[Any], patch: list[Any], field: str) -> list[Any]:
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    key = _merge_key(field, current + patch)
    if key is None or not all(isinstance(v, dict) for v in current + patch):
        merged = list(current)
        for value in patch:
            if value not in merged:
                merged.append(value)
        return merged
    result = [dict(v) for v in current]
    for value in patch:
        position = next((i for i, v in enumerate(result) if v.get(key) == value.get(key)), None)
        if _is_delete(value):
            if position is not None:
                result.pop(position)
        elif position is None:
            result.append(_strip(value))
        else:
            result[position] = _merge_map(result[position], value)
    return result


def _reorder(items: list[Any], order: list[Any], field: str) -> list[Any]:
    key = _merge_key(field, items) if field in MERGE_KEYS else None

    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(o) for o in order]
    ranked = sorted(
        enumerate(items),
        key=lambda pair: (wanted.index(identity(pair[1])) if identity(pair[1]) in wanted
                          else len(wanted) + pair[0]),
    )
    return [item for _, item in ranked]
