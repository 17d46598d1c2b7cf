"""Pruning and defaulting of a custom object by its structural schema (upstream's
`apiserver/schema/pruning` and `apiserver/schema/defaulting`).

- **Pruning**: a field the schema does not name is dropped, unless the object (or a field of
  it) says `x-kubernetes-preserve-unknown-fields: true`. `apiVersion`, `kind` and `metadata`
  are kept at the root and in every `x-kubernetes-embedded-resource`; `metadata` keeps only
  ObjectMeta's fields. The dropped paths are what `fieldValidation` reports (`Warn`: a
  warning per field, `Strict`: a 400), as upstream does for custom resources.
- **Defaulting**: a field missing from an object (or `null` where the schema does not allow
  `null`) gets the schema's `default`, applied top down, so a defaulted object gets its own
  fields' defaults too.
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.kube import schema as kube_schema

Schema = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def _meta_fields() -> frozenset[str]:
    return frozenset(kube_schema.upstream().raw[OBJECT_META].get("properties") or {})


def prune(schema: Schema, obj: dict[str, Any]) -> list[str]:
    """Drop the fields `schema` does not know from `obj` (in place); their paths."""
    dropped: list[str] = []
    _object(schema, obj, "", dropped, embedded=True)
    return dropped


def unknown_fields(schema: Schema, value: Any) -> list[str]:
    """The fields of `value` (a value of `schema`, not an object's root) that pruning would
    drop: a CRD's `default` must have none (upstream: `must not have unknown fields`)."""
    dropped: list[str] = []
    _value(schema, copy.deepcopy(value), "", dropped)
    return dropped


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(schema: Schema, value: dict[str, Any], path: str, dropped: list[str],
            embedded: bool = False) -> None:
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    for key in list(value):
        child = value[key]
        if embedded and key in _ROOT_KEEP:
            if key == "metadata" and isinstance(child, dict):
                for meta_key in list(child):
                    if meta_key not in _meta_fields():
                        dropped.append(f"{_join(path, key)}.{meta_key}")
                        del child[meta_key]
            continue
        if key in properties:
            _value(properties[key], child, _join(path, key), dropped)
        elif isinstance(additional, dict):
            _value(additional, child, _join(path, key), dropped)
        elif not preserve and additional is not True:
            dropped.append(_join(path, key))
            del value[key]


def _value(schema: Any, value: Any, path: str, dropped: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        if schema.get("type") == "object" or "properties" in schema \
                or "additionalProperties" in schema:
            _object(schema, value, path, dropped,
                    embedded=schema.get("x-kubernetes-embedded-resource") is True)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _value(schema["items"], item, f"{path}[{i}]", dropped)


def apply_defaults(schema: Schema, obj: Any) -> None:
    """Set the schema's defaults on `obj` where a field is missing (in place)."""
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        for key, child in (schema.get("properties") or {}).items():
            if not isinstance(child, dict):
                continue
            if "default" in child and (key not in obj or (
                    obj[key] is None and not child.get("nullable"))):
                obj[key] = copy.deepcopy(child["default"])
            if key in obj:
                apply_defaults(child, obj[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in obj:
                if key not in (schema.get("properties") or {}):
                    apply_defaults(additional, obj[key])
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            apply_defaults(schema["items"], item)
