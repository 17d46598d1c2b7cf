"""The merge itself: maps merged key by key, lists by their patch strategy (upstream's
`mergeMap`, `mergeSliceHandler`, `mergeSlice`, `mergeSliceWithSpecialElements`,
`mergePatchIntoOriginal` for `$setElementOrder`).

`apply(original, patch, schema)` deep-copies both and merges; the directives are in
`directives.py`, the schema lookups in `patch_meta.py`, the resulting list order in `order.py`.
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.controlplane.registry.strategicpatch.directives import (
    BAD_PRIMITIVE_LIST,
    BAD_SET_ELEMENT_ORDER,
    DELETE_FROM_PRIMITIVE_LIST,
    DIRECTIVE,
    SET_ELEMENT_ORDER,
    PatchError,
    apply_retain_keys,
    bad_request,
    discard_nulls,
    failed,
    kind_of,
    remove_directives,
    strip_prefix,
)
from nodelab.controlplane.registry.strategicpatch.order import (
    deduplicate,
    normalize_element_order,
    partition_maps,
    partition_primitives,
    validate_order,
)
from nodelab.controlplane.registry.strategicpatch.patch_meta import (
    child_schema,
    patch_merge_key,
    patch_strategy,
)
from nodelab.kube.schema import Node
from nodelab.kubewire.go_value import go_v


def apply(original: Any, patch: Any, schema: Node | None) -> dict[str, Any]:
    """`original` with the strategic merge `patch` applied (neither is changed)."""
    if not isinstance(patch, dict):
        raise bad_request("invalid JSON document")
    base = copy.deepcopy(original) if isinstance(original, dict) else {}
    return _merge_map(base, copy.deepcopy(patch), schema)


def _merge_map(original: dict[str, Any], patch: dict[str, Any],
               schema: Node | None) -> dict[str, Any]:
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            del patch[DIRECTIVE]
            return patch
        if directive == "delete":
            return {}
        raise failed(f"unknown patch type: {directive} in map: {go_v(patch)}")
    apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in list(patch.items()):
        delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if delete_list:
            key = strip_prefix(key, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or kind_of(original[key]) != kind_of(value):
            if not delete_list:
                discard_nulls(value)
                kept, keep = remove_directives(value)
                if keep:
                    original[key] = kept
                else:
                    original.pop(key, None)
            continue
        child = child_schema(schema, key)
        if isinstance(value, dict):
            _, strategy = patch_strategy(child)
            original[key] = value if strategy == "replace" else _merge_map(
                original[key], value, child)
        elif isinstance(value, list):
            _, strategy = patch_strategy(child)
            original[key] = _merge_slice_handler(original[key], value, child, strategy,
                                                 delete_list)
        else:
            kept, keep = remove_directives(value)
            if keep:
                original[key] = kept
            else:
                original.pop(key, None)
    return original


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any],
                         schema: Node | None) -> None:
    """`mergePatchIntoOriginal`: lists with a `$setElementOrder` merged and put in order."""
    for key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise failed(f"expected a []interface {{}}, but received a {kind_of(order)}")
        field = strip_prefix(key, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER)
        child = child_schema(schema, field)
        merge_key = patch_merge_key(child)
        found_original, found_patch = field in original, field in patch
        current = original.get(field)
        patched = patch.get(field)
        if found_original and not isinstance(current, list):
            raise failed(f"expected a []interface {{}}, but received a {kind_of(current)}")
        if found_patch and not isinstance(patched, list):
            raise failed(f"expected a []interface {{}}, but received a {kind_of(patched)}")
        validate_order(patched or [], order, merge_key)
        _, strategy = patch_strategy(child)
        live = list(current or [])
        if found_original and not found_patch:
            merged = list(current or [])
        elif found_patch and not found_original:
            merged = list(remove_directives(patched)[0])
        elif found_original and found_patch:
            merged = _merge_slice_handler(current, patched, child, strategy, False, live)
        else:
            continue
        kind = _element_kind([current or [], patched or []])
        if merge_key:
            in_patch, server_only = partition_maps(merged, order, merge_key)
        else:
            in_patch, server_only = partition_primitives(merged, order)
        original[field] = normalize_element_order(in_patch, server_only, order, live,
                                                   merge_key, kind)
        patch.pop(field, None)


def _merge_slice_handler(original: Any, patch: Any, schema: Node | None, strategy: str,
                         delete_list: bool, live: list[Any] | None = None) -> list[Any]:
    if not isinstance(original, list) or not isinstance(patch, list):
        raise failed("expected a []interface {}, but received another type")
    if strategy == "merge" or delete_list:
        # a list's items; a field typed as one struct but sent as a list (upstream's
        # `mergeItemPtr` case) merges its elements with the struct's schema
        items = schema.items or schema if schema is not None else None
        return _merge_slice(original, patch, items, patch_merge_key(schema), delete_list, live)
    return patch


def _element_kind(lists: list[list[Any]]) -> str:
    kind = ""
    for items in lists:
        for value in items:
            current = kind_of(value)
            if not kind:
                kind = current
                if kind == "slice":
                    raise PatchError(422, "Invalid", "lists of lists are not supported")
            elif kind != current:
                raise failed(f"list element types are not identical: {go_v(lists)}")
    if not kind:
        raise failed("no elements in any of the given slices")
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
        merged = deduplicate([*original, *patch])
    else:
        if not merge_key:
            raise failed(f"cannot merge lists without merge key for {items.name if items else ''}")
        original, patch, replaced = _special_elements(original, patch, merge_key)
        merged = _merge_maps_by_key(original, patch, merge_key, items)
        if live is not None and not replaced:
            live[:] = merged[:len(live)]
    if merge_key:
        in_patch, server_only = partition_maps(merged, patch, merge_key)
    else:
        in_patch, server_only = partition_primitives(merged, patch)
    return normalize_element_order(in_patch, server_only, patch, original, merge_key, kind)


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
                raise failed(f"map: {go_v(value)} does not contain declared merge key: {merge_key}")
            original = [v for v in original
                        if not (isinstance(v, dict) and v.get(merge_key) == value[merge_key])]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise failed("merging lists cannot yet be specified in the patch")
        else:
            raise failed(f"unknown patch type: {directive} in map: {go_v(value)}")
    if replace:
        return plain, [], True
    return original, plain, False


def _merge_maps_by_key(original: list[Any], patch: list[Any], merge_key: str,
                       items: Node | None) -> list[Any]:
    for value in patch:
        if merge_key not in value:
            raise failed(f"map: {go_v(value)} does not contain declared merge key: {merge_key}")
        position = next((i for i, v in enumerate(original)
                         if isinstance(v, dict) and v.get(merge_key) == value[merge_key]), None)
        if position is None:
            original.append(value)
        else:
            original[position] = _merge_map(original[position], value, items)
    return original

