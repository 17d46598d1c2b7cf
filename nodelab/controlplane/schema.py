"""Object schemas, taken from the official Python client's generated models.

The `kubernetes` package is generated from kube-apiserver's own OpenAPI document: each model
class knows its fields (`openapi_types`, `attribute_map`) and their descriptions. That makes it
a faithful, offline copy of the upstream schema, used here for two things:

- **unknown fields**: kube-apiserver decodes into Go structs, so fields it does not know are
  dropped; `fieldValidation=Strict` turns them into a 400, `Warn` (kubectl's default when it
  cannot validate) into a `Warning` header, `Ignore` drops them silently. `prune` finds and
  drops them at any depth (`spec.containers[0].imagePullPolcy`).
- **OpenAPI documents** (`openapi.py`), for `kubectl explain` and client-side validation.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from kubernetes.client import models

Object = dict[str, Any]

_PRIMITIVES = {"str", "int", "bool", "float", "datetime", "date", "object", "bytearray"}
_LIST = re.compile(r"^List\[(.+)\]$")
_DICT = re.compile(r"^Dict\[str, (.+)\]$")


@functools.cache
def model_fields(model: str) -> dict[str, str]:
    """JSON field name -> type string (`str`, `List[V1Container]`, `Dict[str, str]`, ...)."""
    cls = getattr(models, model, None)
    if cls is None:
        return {}
    types: dict[str, str] = getattr(cls, "openapi_types", {})
    names: dict[str, str] = getattr(cls, "attribute_map", {})
    return {names[attr]: kind for attr, kind in types.items()}


@functools.cache
def field_descriptions(model: str) -> dict[str, str]:
    cls = getattr(models, model, None)
    if cls is None:
        return {}
    names: dict[str, str] = getattr(cls, "attribute_map", {})
    fields = getattr(cls, "model_fields", {})
    return {names[attr]: (info.description or "") for attr, info in fields.items()
            if attr in names}


def model_description(model: str) -> str:
    cls = getattr(models, model, None)
    doc = (cls.__doc__ or "") if cls is not None else ""
    return doc.split("Attributes:")[0].strip()


def is_model(kind: str) -> bool:
    return kind not in _PRIMITIVES and not _LIST.match(kind) and not _DICT.match(kind)


def prune(model: str, value: Any, path: str = "") -> list[str]:
    """Drop fields `model` does not define from `value` (in place); their paths, in order."""
    if not isinstance(value, dict):
        return []
    fields = model_fields(model)
    if not fields:
        return []
    unknown: list[str] = []
    for key in list(value):
        child_path = f"{path}.{key}" if path else key
        kind = fields.get(key)
        if kind is None:
            unknown.append(child_path)
            del value[key]
            continue
        unknown.extend(_prune_typed(kind, value[key], child_path))
    return unknown


def _prune_typed(kind: str, value: Any, path: str) -> list[str]:
    list_match, dict_match = _LIST.match(kind), _DICT.match(kind)
    if list_match and isinstance(value, list):
        found: list[str] = []
        for i, item in enumerate(value):
            found.extend(_prune_typed(list_match.group(1), item, f"{path}[{i}]"))
        return found
    if dict_match and isinstance(value, dict):
        found = []
        for key, item in value.items():
            found.extend(_prune_typed(dict_match.group(1), item, f"{path}[{key}]"))
        return found
    if is_model(kind):
        return prune(kind, value, path)
    return []
