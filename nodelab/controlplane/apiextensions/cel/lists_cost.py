"""Estimates of cel-go's lists extension at version 3 (ext/lists.go, ext/costs.go), which
take precedence over the Kubernetes library's (`OverloadCostEstimate`): `slice`, `flatten`,
`lists.range`, `reverse`, `distinct`, `sort` and `sortBy`'s `@sortByAssociatedKeys`. Each
allocates a list: its size times a factor, plus one call and a list creation."""

from __future__ import annotations

from nodelab.controlplane.apiextensions.cel.library_cost import (
    MAX,
    STRING_TRAVERSAL,
    UNKNOWN,
    Node,
    Range,
    SizeEstimator,
    add,
    factor,
    mul,
)

LIST_CREATE = 10
_TEXT_SORTS = ("string", "bytes")


def _size(sizes: SizeEstimator, node: Node) -> Range:
    if node.size is not None:
        return node.size
    estimated = sizes.estimate_size(node)
    return estimated if estimated is not None else UNKNOWN


def _uint(node: Node, default: int) -> int:
    """`nodeAsUintValue`: an int literal argument (negative as 0), else `default`."""
    expr = node.expr
    if expr is None or expr.WhichOneof("expr_kind") != "const_expr" or \
            expr.const_expr.WhichOneof("constant_kind") != "int64_value":
        return default
    return max(int(expr.const_expr.int64_value), 0)


def _allocating(per_item: float, size: Range) -> tuple[Range, Range]:
    """`estimateAllocatingListCall`."""
    return add(add(factor(size, per_item), (1, 1)), (LIST_CREATE, LIST_CREATE)), size


def call_cost(sizes: SizeEstimator, overload: str, target: Node | None,
              args: list[Node]) -> tuple[Range, Range | None] | None:
    if overload == "list_slice" and target is not None and len(args) == 2:
        start, end = _uint(args[0], 0), _uint(args[1], _size(sizes, target)[1])
        count = (end - start) % 2**64
        return _allocating(1, (count, count))
    if overload in ("list_range", "lists_range") and target is None and len(args) == 1:
        count = _uint(args[0], MAX)
        return _allocating(1, (count, count))
    if overload == "list_reverse" and target is not None and not args:
        return _allocating(1, _size(sizes, target))
    if overload in ("list_flatten", "list_flatten_int") and target is not None and len(
            args) <= 1:
        depth = _uint(args[0], MAX) if args else 1
        return _allocating(float(depth), _size(sizes, target))
    if overload == "list_distinct" and target is not None and not args:
        size = _size(sizes, target)
        return _allocating(2.0, mul(size, size))
    if overload.startswith("list_") and overload.endswith("_sort") and target is not None \
            and not args:
        return _sort(_size(sizes, target), overload.removeprefix("list_").removesuffix("_sort"))
    if overload.startswith("list_") and overload.endswith("_sortByAssociatedKeys") and \
            args and len(args) == (1 if target is not None else 2):
        kind = overload.removeprefix("list_").removesuffix("_sortByAssociatedKeys")
        return _sort(_size(sizes, args[-1]), kind)  # the keys list
    return None


def _sort(size: Range, kind: str) -> tuple[Range, Range]:
    per_item = 2.0 + (STRING_TRAVERSAL if kind in _TEXT_SORTS else 0.0)
    return _allocating(per_item, mul(size, size))
