"""The checks a structural schema's Kubernetes extensions ask of a custom object, as upstream
runs them beside the OpenAPI validator:

- `x-kubernetes-list-type: set`: no item twice (`schema/listtype/validation.go`
  validateListSet), each repeat `Duplicate value: <item>` at its index;
- `x-kubernetes-list-type: map`: items are objects (or null), and no two share the values of
  `x-kubernetes-list-map-keys` (validateListMap; a missing key counts as its schema's `default`,
  else as "unspecified"), each repeat `Duplicate value: {"<key>":<value>,...}` at its index;
- `x-kubernetes-embedded-resource: true` below the root: `apiVersion` and `kind` are required
  strings, the group/version well formed and the kind a DNS-1035 label in any case
  (`schema/objectmeta/validation.go` validateEmbeddedResource; the embedded `metadata` is pruned
  to its known fields and not checked further).
"""

from __future__ import annotations

import json
from typing import Any

from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import dns1035_label_errors, quote

_UNSPECIFIED = "\x00unspecified"


def _index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else repr(value)


def list_type_causes(schema: dict[str, Any], items: list[Any], path: str) -> list[Cause]:
    """The causes of a list breaking its `x-kubernetes-list-type` (`atomic` asks nothing)."""
    kind = schema.get("x-kubernetes-list-type")
    if kind == "set":
        return _repeats([(_key(item), item) for item in items], path)
    if kind != "map":
        return []
    causes = [Cause(_index(path, i), "FieldValueInvalid",
                    f"Invalid value: {quote(item)}: must be an object for an array of "
                    "list-type map")
              for i, item in enumerate(items) if item is not None and not isinstance(item, dict)]
    if causes:
        return causes
    keys = schema.get("x-kubernetes-list-map-keys") or []
    properties = (schema.get("items") or {}).get("properties") or {}
    entries = []
    for item in items:
        if item is None:
            continue
        values = {k: item.get(k, (properties.get(k) or {}).get("default", _UNSPECIFIED))
                  for k in keys}
        shown = {k: v for k, v in values.items() if v != _UNSPECIFIED}
        entries.append((_key(values), shown))
    return _repeats(entries, path)


def _repeats(entries: list[tuple[str, Any]], path: str) -> list[Cause]:
    seen: set[str] = set()
    causes = []
    for i, (key, shown) in enumerate(entries):
        if key in seen:
            causes.append(Cause(_index(path, i), "FieldValueDuplicate",
                                f"Duplicate value: {quote(shown)}"))
        seen.add(key)
    return causes


def embedded_resource_causes(obj: dict[str, Any], path: str) -> list[Cause]:
    """The causes of an embedded resource without a well-formed apiVersion and kind."""
    causes = []
    for field in ("apiVersion", "kind"):
        where = f"{path}.{field}" if path else field
        if field not in obj:
            causes.append(Cause(where, "FieldValueRequired", "Required value: must not be empty"))
            continue
        value = obj[field]
        problem = _problem(field, value)
        if problem:
            causes.append(Cause(where, "FieldValueInvalid",
                                f"Invalid value: {quote(value)}: {problem}"))
    return causes


def _problem(field: str, value: Any) -> str:
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if field == "apiVersion":
        if value.count("/") > 1 or value.startswith("/") or value.endswith("/"):
            return f"unexpected GroupVersion string: {value}"
        return ""
    found = dns1035_label_errors(value.lower())
    return f"may have mixed case, but should otherwise match: {','.join(found)}" if found else ""
