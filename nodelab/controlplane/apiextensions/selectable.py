"""A CRD version's `selectableFields` (GA in Kubernetes 1.32): fields of its custom objects a
field selector may use (`kubectl get widgets --field-selector spec.color=red`), beside
`metadata.name` and `metadata.namespace`.

When the CRD is written (upstream's `ValidateSelectableFields`) each `jsonPath` must be a
path of fields of the version's schema (`.spec.color`; no `[...]`: "is an invalid path:
array notation is not allowed"), not in `metadata`, to a string, boolean or integer field, and
appear once; at most 8. A selector compares the field's value as text (`true`, `42`); a
missing field is the empty string, as upstream's field sets.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.errors import Cause
from nodelab.controlplane.validation.fields import FieldErrors

MAX_SELECTABLE_FIELDS = 8


def path_error(schema: Any, json_path: str) -> tuple[str, Any]:
    """(the field path, its schema) of `json_path`, or (why it is invalid, None)
    (upstream's `ValidFieldPath` without array notation)."""
    node = schema
    parts: list[str] = []
    rest = json_path
    while rest:
        if rest[0] == "[":
            return "array notation is not allowed", None
        if rest[0] != ".":
            token = rest.split(".", 1)[0].split("[", 1)[0]
            return f"expected [ or . but got: {token}", None
        rest = rest[1:]
        if not rest:
            return "unexpected end of JSON path", None
        end = min((i for i in (rest.find("."), rest.find("[")) if i != -1), default=len(rest))
        name, rest = rest[:end], rest[end:]
        properties = node.get("properties") if isinstance(node, dict) else None
        if properties and name in properties:
            node = properties[name]
        elif not properties and isinstance(node, dict) and isinstance(
                node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return "does not refer to a valid field", None
        parts.append(name)
    return ".".join(parts), node


def check(errors: FieldErrors, fields: Any, schema: Any, path: str) -> None:
    if not isinstance(fields, list):
        errors.invalid(path, fields, "must be a list")
        return
    if schema is None:
        errors.required(path, "selectableFields may only be set when "
                        "version.schema.openAPIV3Schema is not included")
        return
    seen: set[str] = set()
    for i, field in enumerate(fields):
        at = f"{path}[{i}].jsonPath"
        json_path = field.get("jsonPath") if isinstance(field, dict) else None
        if not isinstance(json_path, str) or not json_path:
            errors.required(at)
            continue
        found, node = path_error(schema, json_path)
        if node is None:
            errors.invalid(at, json_path, f"is an invalid path: {found}")
            continue
        if found.split(".")[0] == "metadata":
            errors.invalid(at, json_path, "must not point to fields in metadata")
        if not isinstance(node, dict) or node.get("type") not in ("string", "boolean",
                                                                 "integer"):
            errors.invalid(at, json_path, "must point to a field of type string, boolean or "
                           "integer. Enum string fields and strings with formats are allowed.")
        if found in seen:
            errors.duplicate(at, json_path)
        seen.add(found)
    if len(seen) > MAX_SELECTABLE_FIELDS:
        errors.causes.append(Cause(path, "FieldValueTooMany", f"Too many: {len(seen)}: must "
                                   f"have at most {MAX_SELECTABLE_FIELDS} items"))


def selectable(version: dict[str, Any]) -> tuple[str, ...]:
    """The field selector labels of a served version (`spec.color`)."""
    fields = version.get("selectableFields") or []
    return tuple(str(f.get("jsonPath", "")).lstrip(".") for f in fields if isinstance(f, dict))
