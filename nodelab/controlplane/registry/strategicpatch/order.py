"""The order of a merged list (upstream's `normalizeElementOrder`, `normalizeSliceOrder`,
`mergeSortedSlice`, `validatePatchWithSetOrderList`, `deduplicateScalars`).

Items the patch names come in the patch's (or `$setElementOrder`'s) order, items only the
server has keep the server's order, and the two are merged by the server's order, with Go's
stable insertion sort and upstream's comparator, so results match kube-apiserver's item for
item.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.errors import Panicked
from nodelab.controlplane.registry.strategicpatch.directives import (
    DIRECTIVE,
    SET_ELEMENT_ORDER,
    failed,
    is_delete,
    kind_of,
)
from nodelab.kubewire.go_value import go_v


def validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """A 500 when the patch's items are not in `$setElementOrder`'s order."""
    if not order or not patch_list:
        return
    items = [v for v in patch_list if not is_delete(v)] if merge_key else patch_list
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _key_equal(items[p], order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise failed(f"The order in patch list:\n{go_v(patch_list)}\n doesn't match "
                      f"{SET_ELEMENT_ORDER} list:\n{go_v(order)}\n")


def _key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        # Go's `left == right` on two interfaces holding maps (or slices) panics
        if isinstance(left, (dict, list)) and type(left) is type(right):
            raise Panicked("runtime error: comparing uncomparable type "
                           f"{_go_type(left)}")
        return bool(left == right)
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise failed(f"expected a map, but received a {kind_of(right)}")
    for item in (left, right):
        if merge_key not in item:
            raise failed(f"map: {go_v(item)} does not contain declared merge key: {merge_key}")
    return bool(left[merge_key] == right[merge_key])


def deduplicate(values: list[Any]) -> list[Any]:
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


def partition_primitives(values: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    """The values the patch names, and those only the server has. Upstream keys a Go map by
    the values, which panics on a map or a list (a list of objects without a merge key)."""
    for value in [*by, *values]:
        if isinstance(value, (dict, list)):
            raise Panicked(f"runtime error: hash of unhashable type {_go_type(value)}")
    return [v for v in values if v in by], [v for v in values if v not in by]


def _go_type(value: Any) -> str:
    return "map[string]interface {}" if isinstance(value, dict) else "[]interface {}"


def partition_maps(values: list[Any], by: list[Any], merge_key: str
                    ) -> tuple[list[Any], list[Any]]:
    """The items whose merge key the patch names, and those only the server has."""
    wanted = [v.get(merge_key) for v in by if isinstance(v, dict)]
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for value in values:
        if not isinstance(value, dict):
            raise failed(f"expected a map, but received a {kind_of(value)}")
        if merge_key not in value:
            raise failed(f"map: {go_v(value)} does not contain declared merge key: {merge_key}")
        (in_patch if value[merge_key] in wanted else server_only).append(value)
    return in_patch, server_only


def _index(values: list[Any], item: Any, merge_key: str, kind: str) -> int:
    def identity(value: Any) -> Any:
        if kind == "map":
            return value.get(merge_key) if isinstance(value, dict) else None
        return value

    wanted = identity(item)
    return next((i for i, v in enumerate(values) if identity(v) == wanted), -1)


def normalize_element_order(in_patch: list[Any], server_only: list[Any],
                             patch_order: list[Any], server_order: list[Any], merge_key: str,
                             kind: str) -> list[Any]:
    """The merged list in upstream's order (see the module docstring)."""
    in_patch = _sort_by(in_patch, patch_order, merge_key, kind)
    server_only = _sort_by(server_only, server_order, merge_key, kind)
    return _merge_sorted(server_only, in_patch, server_order, merge_key, kind)


def _sort_by(values: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """`normalizeSliceOrder`: Go's stable insertion sort with upstream's comparator."""
    deleted: list[Any] = []
    if kind == "map":
        for value in [*values, *order]:
            if not isinstance(value, dict) or merge_key not in value:
                raise failed(f"map: {go_v(value)} does not contain declared merge key: {merge_key}")
        deleted = [v for v in values if is_delete(v)]
        values = [v for v in values if not is_delete(v)]

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

