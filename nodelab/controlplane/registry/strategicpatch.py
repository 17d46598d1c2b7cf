"""Strategic merge patch (`application/strategic-merge-patch+json`), applied as kube-apiserver
applies it: upstream's `strategicpatch.StrategicMergeMapPatch` (k8s.io/apimachinery
pkg/util/strategicpatch/patch.go, `mergeMap` with `MergeParallelList` and
`IgnoreUnmatchedNulls`), with the merge semantics read from upstream's schema
(`nodelab.kube.schema`), never guessed from field names.

Like a JSON merge patch (maps merge, `null` deletes), except where the schema says otherwise:

- a list with `x-kubernetes-patch-strategy: merge` merges element by element: maps by their
  `x-kubernetes-patch-merge-key` (containers by `name`, container ports by `containerPort`),
  primitives as a set (finalizers); every other list (taints, tolerations, args) is replaced;
- `replace` on a map field replaces it whole; `retainKeys` (volumes, the deployment strategy)
  lets the patch's `$retainKeys` list clear the keys it does not name;
- the directives kubectl sends: `$patch: replace|delete` on a map, `{"$patch": "delete",
  <key>: v}` and `{"$patch": "replace"}` in a list, `$deleteFromPrimitiveList/<field>`,
  `$setElementOrder/<field>` (the order of the merged list) and `$retainKeys`.

Errors are `PatchError`s with the status code kube-apiserver answers (400 for a malformed
directive, 422 for lists of lists, 500 for the rest, as `interpretStrategicMergePatchError`).
Upstream's own test cases run against this module (tests/controlplane/test_strategicpatch_
upstream.py).
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.controlplane.errors import ApiError
from nodelab.kube.schema import Node

DIRECTIVE = "$patch"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"
RETAIN_KEYS = "$retainKeys"

BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


class PatchError(ApiError):
    pass


def _bad_request(message: str) -> PatchError:
    return PatchError(400, "BadRequest", message)


def _failed(message: str) -> PatchError:
    return PatchError(500, "InternalError", message,
                      {"causes": [{"message": message}]})


def apply(original: Any, patch: Any, schema: Node | None) -> dict[str, Any]:
    """`original` with the strategic merge `patch` applied (neither is changed)."""
    if not isinstance(patch, dict):
        raise _bad_request("invalid JSON document")
    base = copy.deepcopy(original) if isinstance(original, dict) else {}
    return _merge_map(base, copy.deepcopy(patch), schema)


# schema lookups (LookupPatchMetadataForStruct / ForSlice) ------------------------------------

def _child(schema: Node | None, key: str) -> Node | None:
    if schema is None:
        return None
    found = schema.field(key)
    if found is None and schema.is_map:
        return schema.values
    return found


def _strategy(node: Node | None) -> tuple[bool, str]:
    """(retainKeys?, the other strategy) of a field, as `extractRetainKeysPatchStrategy`."""
    strategies = node.patch_strategies if node is not None else ()
    if len(strategies) > 2 or (len(strategies) == 2 and "retainKeys" not in strategies):
        raise _failed(f"unexpected patch strategy: {list(strategies)}")
    retain = "retainKeys" in strategies
    others = [s for s in strategies if s != "retainKeys"]
    return retain, others[0] if others else ""


def _merge_key(node: Node | None) -> str:
    return node.patch_merge_key if node is not None else ""


# maps ----------------------------------------------------------------------------------------

def _merge_map(original: dict[str, Any], patch: dict[str, Any],
               schema: Node | None) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            del patch[DIRECTIVE]
            return patch
        if directive == "delete":
            return {}
        raise _failed(f"unknown patch type: {directive} in map: {patch}")
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in list(patch.items()):
        delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if delete_list:
            key = _strip_prefix(key, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or _kind(original[key]) != _kind(value):
            if not delete_list:
                _discard_nulls(value)
                kept, keep = _remove_directives(value)
                if keep:
                    original[key] = kept
                else:
                    original.pop(key, None)
            continue
        child = _child(schema, key)
        if isinstance(value, dict):
            _, strategy = _strategy(child)
            original[key] = value if strategy == "replace" else _merge_map(
                original[key], value, child)
        elif isinstance(value, list):
            _, strategy = _strategy(child)
            original[key] = _merge_slice_handler(original[key], value, child, strategy,
                                                 delete_list)
        else:
            kept, keep = _remove_directives(value)
            if keep:
                original[key] = kept
            else:
                original.pop(key, None)
    return original


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _strip_prefix(key: str, prefix: str, error: str) -> str:
    parts = key.split("/", 1)
    if len(parts) < 2 or parts[0] != prefix:
        raise _bad_request(error)
    return parts[1]


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise _bad_request(BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in retain:
            raise _bad_request(BAD_RETAIN_KEYS)
    for key in list(original):
        if key not in retain:
            del original[key]


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for child in value.values():
            _discard_nulls(child)
    elif isinstance(value, list):
        for child in value:
            _discard_nulls(child)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = _remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        result = []
        for item in value:
            kept, keep = _remove_directives(item)
            if keep:
                result.append(kept)
        return result, True
    return value, True


# $setElementOrder ----------------------------------------------------------------------------

def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any],
                         schema: Node | None) -> None:
    """`mergePatchIntoOriginal`: lists with a `$setElementOrder` merged and put in order."""
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise _failed(f"expected a []interface {{}}, but received a {_kind(order)}")
        field = _strip_prefix(key, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER)
        child = _child(schema, field)
        merge_key = _merge_key(child)
        found_original, found_patch = field in original, field in patch
        current = original.get(field)
        patched = patch.get(field)
        if found_original and not isinstance(current, list):
            raise _failed(f"expected a []interface {{}}, but received a {_kind(current)}")
        if found_patch and not isinstance(patched, list):
            raise _failed(f"expected a []interface {{}}, but received a {_kind(patched)}")
        _validate_order(patched or [], order, merge_key)
        _, strategy = _strategy(child)
        live = list(current or [])
        if found_original and not found_patch:
            merged = list(current or [])
        elif found_patch and not found_original:
            merged = list(_remove_directives(patched)[0])
        elif found_original and found_patch:
            merged = _merge_slice_handler(current, patched, child, strategy, False, live)
        else:
            continue
        kind = _element_kind([current or [], patched or []])
        if merge_key:
            in_patch, server_only = _partition_maps(merged, order, merge_key)
        else:
            in_patch, server_only = _partition_primitives(merged, order)
        original[field] = _normalize_element_order(in_patch, server_only, order, live,
                                                   merge_key, kind)
        patch.pop(field, None)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    if not order or not patch_list:
        return
    items = [v for v in patch_list if not _is_delete(v)] if merge_key else patch_list
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _key_equal(items[p], order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise _failed(f"The order in patch list:\n{patch_list}\n doesn't match "
                      f"{SET_ELEMENT_ORDER} list:\n{order}\n")


def _key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return bool(left == right)
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise _failed(f"expected a map, but received a {_kind(right)}")
    for item in (left, right):
        if merge_key not in item:
            raise _failed(f"map: {item} does not contain declared merge key: {merge_key}")
    return bool(left[merge_key] == right[merge_key])


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and value.get(DIRECTIVE) == "delete"


# lists ---------------------------------------------------------------------------------------

def _merge_slice_handler(original: Any, patch: Any, schema: Node | None, strategy: str,
                         delete_list: bool, live: list[Any] | None = None) -> list[Any]:
    if not isinstance(original, list) or not isinstance(patch, list):
        raise _failed("expected a []interface {}, but received another type")
    if strategy == "merge" or delete_list:
        # a list's items; a field typed as one struct but sent as a list (upstream's
        # `mergeItemPtr` case) merges its elements with the struct's schema
        items = schema.items or schema if schema is not None else None
        return _merge_slice(original, patch, items, _merge_key(schema), delete_list, live)
    return patch


def _element_kind(lists: list[list[Any]]) -> str:
    kind = ""
    for items in lists:
        for value in items:
            current = _kind(value)
            if not kind:
                kind = current
                if kind == "slice":
                    raise PatchError(422, "Invalid", "lists of lists are not supported")
            elif kind != current:
                raise _failed(f"list element types are not identical: {lists}")
    if not kind:
        raise _failed("no elements in any of the given slices")
    return kind


def _merge_slice(original: list[Any], patch: list[Any], items: Node | None, merge_key: str,
                 delete_list: bool, live: list[Any] | None = None) -> list[Any]:
    """Merge two lists; `live`, when given, becomes what Go's caller still sees of the live
    list afterwards: upstream deletes `$patch: delete` items and appends new ones in the
    live list's own array, and `$setElementOrder` then orders by that array's first items."""
    if not original and not patch:
        return original
    original = list(original)  # the caller's list stays the live order ($setElementOrder)
    kind = _element_kind([original, patch])
    if kind != "map":
        if delete_list:
            return [v for v in original if v not in patch]
        merged = _deduplicate([*original, *patch])
    else:
        if not merge_key:
            raise _failed(f"cannot merge lists without merge key for {items.name if items else ''}")
        original, patch, replaced = _special_elements(original, patch, merge_key)
        merged = _merge_maps_by_key(original, patch, merge_key, items)
        if live is not None and not replaced:
            live[:] = merged[:len(live)]
    if merge_key:
        in_patch, server_only = _partition_maps(merged, patch, merge_key)
    else:
        in_patch, server_only = _partition_primitives(merged, patch)
    return _normalize_element_order(in_patch, server_only, patch, original, merge_key, kind)


def _deduplicate(values: list[Any]) -> list[Any]:
    """Go's `deduplicateScalars`, order included (a duplicate's place takes the last item)."""
    values = list(values)
    length = len(values) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if values[i] == values[j]:
                values[j] = values[length]
                values = values[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return values


def _special_elements(original: list[Any], patch: list[Any], merge_key: str
                      ) -> tuple[list[Any], list[Any], bool]:
    plain: list[Any] = []
    replace = False
    for value in patch:
        directive = value.get(DIRECTIVE, None) if DIRECTIVE in value else None
        if DIRECTIVE not in value:
            plain.append(value)
        elif directive == "delete":
            if merge_key not in value:
                raise _failed(f"map: {value} does not contain declared merge key: {merge_key}")
            original = [v for v in original
                        if not (isinstance(v, dict) and v.get(merge_key) == value[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _failed("merging lists cannot yet be specified in the patch")
        else:
            raise _failed(f"unknown patch type: {directive} in map: {value}")
    if replace:
        return plain, [], True
    return original, plain, False


def _merge_maps_by_key(original: list[Any], patch: list[Any], merge_key: str,
                       items: Node | None) -> list[Any]:
    for value in patch:
        if merge_key not in value:
            raise _failed(f"map: {value} does not contain declared merge key: {merge_key}")
        position = next((i for i, v in enumerate(original)
                         if isinstance(v, dict) and v.get(merge_key) == value[merge_key]), None)
        if position is None:
            original.append(value)
        else:
            original[position] = _merge_map(original[position], value, items)
    return original


def _partition_primitives(values: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    return [v for v in values if v in by], [v for v in values if v not in by]


def _partition_maps(values: list[Any], by: list[Any], merge_key: str
                    ) -> tuple[list[Any], list[Any]]:
    wanted = [v.get(merge_key) for v in by if isinstance(v, dict)]
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for value in values:
        if not isinstance(value, dict):
            raise _failed(f"expected a map, but received a {_kind(value)}")
        if merge_key not in value:
            raise _failed(f"map: {value} does not contain declared merge key: {merge_key}")
        (in_patch if value[merge_key] in wanted else server_only).append(value)
    return in_patch, server_only


def _index(values: list[Any], item: Any, merge_key: str, kind: str) -> int:
    def identity(value: Any) -> Any:
        if kind == "map":
            return value.get(merge_key) if isinstance(value, dict) else None
        return value

    wanted = identity(item)
    return next((i for i, v in enumerate(values) if identity(v) == wanted), -1)


def _normalize_element_order(in_patch: list[Any], server_only: list[Any],
                             patch_order: list[Any], server_order: list[Any], merge_key: str,
                             kind: str) -> list[Any]:
    in_patch = _sort_by(in_patch, patch_order, merge_key, kind)
    server_only = _sort_by(server_only, server_order, merge_key, kind)
    return _merge_sorted(server_only, in_patch, server_order, merge_key, kind)


def _sort_by(values: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """`normalizeSliceOrder`: Go's stable insertion sort with upstream's comparator."""
    deleted: list[Any] = []
    if kind == "map":
        for value in [*values, *order]:
            if not isinstance(value, dict) or merge_key not in value:
                raise _failed(f"map: {value} does not contain declared merge key: {merge_key}")
        deleted = [v for v in values if _is_delete(v)]
        values = [v for v in values if not _is_delete(v)]

    def less(a: Any, b: Any) -> bool:
        ia = _index(order, a, merge_key, kind)
        if ia >= 0:
            ib = _index(order, b, merge_key, kind)
            if ib >= 0:
                return ia < ib
        return True

    values = list(values)
    for i in range(1, len(values)):
        j = i
        while j > 0 and less(values[j], values[j - 1]):
            values[j], values[j - 1] = values[j - 1], values[j]
            j -= 1
    return values + deleted


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str,
                  kind: str) -> list[Any]:
    result: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            result.append(right[j])
            j += 1
        elif j >= len(right):
            result.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, kind)
            ri = _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                result.append(left[i])
                i += 1
            else:
                result.append(right[j])
                j += 1
    return result
