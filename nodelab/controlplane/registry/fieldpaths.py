"""Field paths and field sets, as server-side apply names fields (structured-merge-diff).

A field is a path of elements, each written as in `fieldsV1`:

- `f:<name>`: a field of a struct or a key of a granular map (`f:spec`, `f:replicas`);
- `k:{"name":"c"}`: the item of a `x-kubernetes-list-type: map` list with those key values
  (keys sorted, compact JSON, as upstream serializes them);
- `v:"x"`: the item of a `set` list with that value.

`field_set(obj, schema)` is the set of fields an object sets, with the granularity upstream's
schema gives: structs and granular maps are descended into (an empty one is a field itself);
items of map lists are fields themselves (the `.` entry of `fieldsV1`) and descended into;
items of sets are fields; atomic lists (`x-kubernetes-list-type: atomic` or none) and atomic
maps (`x-kubernetes-map-type: atomic`, like a LabelSelector) are one field, owned whole. So
two managers can share a container by name and own different fields of it, which is what lets
`kubectl apply --server-side` follow a client-side `kubectl apply` without a conflict on
`.spec.containers`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from nodelab.kube.schema import Node

Path = tuple[str, ...]
MISSING = object()


def _key_element(item: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict) or not all(k in item for k in keys):
        return None
    return "k:" + json.dumps({k: item[k] for k in sorted(keys)}, separators=(",", ":"))


def _value_element(item: Any) -> str:
    return "v:" + json.dumps(item, separators=(",", ":"))


def _granular(node: Node | None) -> bool:
    return node is not None and node.map_type != "atomic" and (node.is_struct or node.is_map)


def _child(node: Node | None, key: str) -> Node | None:
    if node is None:
        return None
    found = node.field(key)
    return node.values if found is None and node.is_map else found


def field_set(value: Any, node: Node | None, prefix: Path = ()) -> set[Path]:
    """Every field `value` sets, under `prefix` (see the module docstring)."""
    if isinstance(value, dict) and _granular(node):
        if not value:
            return {prefix} if prefix else set()
        found: set[Path] = set()
        for key, child in value.items():
            found |= field_set(child, _child(node, key), (*prefix, f"f:{key}"))
        return found
    if isinstance(value, list) and node is not None and node.list_type in ("map", "set"):
        found = set()
        for item in value:
            if node.list_type == "set":
                found.add((*prefix, _value_element(item)))
                continue
            element = _key_element(item, node.list_map_keys)
            if element is None:  # an item without its keys: the list is one field
                return {prefix}
            found.add((*prefix, element))
            found |= field_set(item, node.items, (*prefix, element))
        return found or {prefix}
    return {prefix} if prefix else set()


def _find_item(items: list[Any], element: str) -> int:
    kind, text = element[:2], element[2:]
    wanted = json.loads(text)
    for index, item in enumerate(items):
        if kind == "v:" and item == wanted:
            return index
        if kind == "k:" and isinstance(item, dict) and all(
                item.get(k, MISSING) == v for k, v in wanted.items()):
            return index
    return -1


def value_at(obj: Any, path: Path) -> Any:
    """The value at `path` in `obj`, or `MISSING`."""
    for element in path:
        if element.startswith("f:"):
            if not isinstance(obj, dict) or element[2:] not in obj:
                return MISSING
            obj = obj[element[2:]]
        elif isinstance(obj, list):
            index = _find_item(obj, element)
            if index < 0:
                return MISSING
            obj = obj[index]
        else:
            return MISSING
    return obj


def remove(obj: Any, path: Path) -> None:
    """Remove the field at `path` from `obj` (in place), if it is there."""
    parent = value_at(obj, path[:-1])
    element = path[-1]
    if element.startswith("f:") and isinstance(parent, dict):
        parent.pop(element[2:], None)
    elif isinstance(parent, list):
        index = _find_item(parent, element)
        if index >= 0:
            parent.pop(index)


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    every = set(paths)
    for path in sorted(every):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in every:  # a field with fields of its own under it is also marked "."
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return tree


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(tree, dict):
        return set()
    if not tree:
        return {prefix} if prefix else set()
    found: set[Path] = set()
    for key, child in tree.items():
        if key == ".":
            found.add(prefix)
        else:
            found |= from_fields_v1(child, (*prefix, key))
    return found


def describe(path: Path) -> str:
    """A path as upstream prints it in conflicts: `.spec.containers[name="c"].image`."""
    text = ""
    for element in path:
        kind, rest = element[:2], element[2:]
        if kind == "f:":
            text += f".{rest}"
        elif kind == "k:":
            keys = json.loads(rest)
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        else:
            text += f"[={rest}]"
    return text
