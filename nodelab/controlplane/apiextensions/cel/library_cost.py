"""Cost arithmetic, the schema's size estimates and the Kubernetes library's call estimates for
`cost` (upstream: cel-go's `SizeEstimate`/`CostEstimate`, apiextensions' `sizeEstimator` in
schema/cel/compilation.go, and k8s.io/apiserver/pkg/cel/library `cost.go`'s
`EstimateCallCost`).

A range is (min, max), saturating at 2^64-1 as upstream's uint64 arithmetic. The size of a
value under `self` is the `max_elements` of its declared type, found by its path (`self`,
then field names, `@items`/`@values` for a list's or map's values, `@keys` for a map's
keys), from 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nodelab.controlplane.apiextensions.cel.decltypes import DeclType
from nodelab.controlplane.apiextensions.cel.expr import checked_pb2

MAX = 2**64 - 1
UNKNOWN = (0, MAX)
STRING_TRAVERSAL = 0.1
REGEX_LENGTH = 0.25
MAX_NAME_FORMAT_REGEX = 128
Range = tuple[int, int]


def add(a: Range, b: Range) -> Range:
    return (min(a[0] + b[0], MAX), min(a[1] + b[1], MAX))


def mul(a: Range, b: Range) -> Range:
    return (min(a[0] * b[0], MAX), min(a[1] * b[1], MAX))


def union(a: Range, b: Range) -> Range:
    return (min(a[0], b[0]), max(a[1], b[1]))


def factor(a: Range, per_unit: float) -> Range:
    """`MultiplyByCostFactor`: each bound times `per_unit`, rounded up, saturating."""
    def one(x: int) -> int:
        if x > 0 and per_unit > 0 and x > MAX / per_unit:
            return MAX
        product = math.ceil(float(x) * per_unit)
        return MAX if product >= 2.0**64 else product
    return (one(a[0]), one(a[1]))


@dataclass(frozen=True)
class Node:
    """What an estimate knows of an argument (`checker.AstNode`)."""

    path: tuple[str, ...]
    type: checked_pb2.Type
    expr: Any  # syntax_pb2.Expr, None for a list's items node
    size: Range | None  # the size the walk computed, if any


class SizeEstimator:
    """Sizes of values under `self` from the node's declared type (`sizeEstimator`)."""

    def __init__(self, root: DeclType) -> None:
        self.root = root

    def estimate_size(self, node: Node) -> Range | None:
        if not node.path:
            return None
        current = self.root
        for name in node.path[1:]:  # the first is self (or oldSelf)
            if name in ("@items", "@values"):
                if current.elem is None:
                    return None
                current = current.elem
            elif name == "@keys":
                if current.kind != "map":
                    return None
                return (0, 0)  # a map's key type is plain string: no max elements
            else:
                fields = dict(current.fields)
                if name not in fields:
                    return None
                current = fields[name]
        return (0, current.max_elements)


def is_scalar(kind: checked_pb2.Type) -> bool:
    """`isScalar`: bool, numbers, durations and timestamps (also in an optional)."""
    which = kind.WhichOneof("type_kind")
    if which == "primitive":
        return kind.primitive in (checked_pb2.Type.BOOL, checked_pb2.Type.INT64,
                                  checked_pb2.Type.UINT64, checked_pb2.Type.DOUBLE)
    if which == "well_known":
        return kind.well_known in (checked_pb2.Type.DURATION, checked_pb2.Type.TIMESTAMP)
    if which == "abstract_type" and kind.abstract_type.name == "optional_type" and \
            kind.abstract_type.parameter_types:
        return is_scalar(kind.abstract_type.parameter_types[0])
    return False


def _size(sizes: SizeEstimator, node: Node) -> Range:
    """`sizeEstimate`: computed, else from the schema, else unknown."""
    if node.size is not None:
        return node.size
    estimated = sizes.estimate_size(node)
    return estimated if estimated is not None else UNKNOWN


def _element(node: Node) -> Node | None:
    """`listElementNode`: the items of a list argument."""
    if node.type.WhichOneof("type_kind") != "list_type":
        return None
    return Node(node.path + ("@items",) if node.path else (), node.type.list_type.elem_type,
                None, None)


def _is_text(kind: checked_pb2.Type) -> bool:
    return kind.WhichOneof("type_kind") == "primitive" and kind.primitive in (
        checked_pb2.Type.STRING, checked_pb2.Type.BYTES)


_ONE = (1, 1)
_ONE_UNIT = frozenset({
    "masked", "prefixLength", "family", "isUnspecified", "isLoopback",
    "isLinkLocalMulticast", "isLinkLocalUnicast", "isGlobalUnicast", "format.named", "sign",
    "asInteger", "isInteger", "asApproximateFloat", "isGreaterThan", "isLessThan",
    "compareTo", "add", "sub", "major", "minor", "patch", "getScheme", "getHostname",
    "getHost", "getPort", "getEscapedPath", "getQuery"})
_TRAVERSE_ARG = frozenset({"cidr", "isIP", "isCIDR", "quantity", "isQuantity", "semver",
                           "isSemver"})
_O1_EQUAL = frozenset({"net.IP", "net.CIDR", "kubernetes.Quantity"})


def call_cost(sizes: SizeEstimator, function: str, overload: str, target: Node | None,
              args: list[Node]) -> tuple[Range, Range | None] | None:
    """The Kubernetes library's estimate of one call (cost, result size), None when it has
    none (cel-go's own rules apply then)."""
    if function in ("isSorted", "sum", "max", "min", "indexOf", "lastIndexOf",
                    "includes") and target:
        element = _element(target)
        if element is not None:
            each = _ONE
            if _is_text(element.type):
                each = add(each, factor(_size(sizes, element), STRING_TRAVERSAL))
            return mul(_size(sizes, target), each), None
        if function == "includes":
            return mul(_size(sizes, target), _ONE), None
        return factor(_size(sizes, target), STRING_TRAVERSAL), None
    if function == "url" and len(args) == 1:
        size = _size(sizes, args[0])
        return factor(size, STRING_TRAVERSAL), size
    if function in ("lowerAscii", "upperAscii", "substring", "trim") and target:
        size = _size(sizes, target)
        return factor(size, STRING_TRAVERSAL), size
    if function == "replace" and target and len(args) >= 2:
        return _replace(_size(sizes, target), _size(sizes, args[0]), _size(sizes, args[1]))
    if function == "split" and target:
        size = _size(sizes, target)
        most = size[1]
        if len(args) > 1 and args[1].expr is not None and args[1].expr.WhichOneof(
                "expr_kind") == "const_expr" and args[1].expr.const_expr.WhichOneof(
                "constant_kind") == "int64_value":
            most = args[1].expr.const_expr.int64_value % 2**64
        return factor(size, 2 * STRING_TRAVERSAL), (0, most)
    if function == "join" and target:
        return _join(sizes, target, args)
    if function in ("find", "findAll") and target and args:
        size = _size(sizes, target)
        text = factor(add(size, _ONE), STRING_TRAVERSAL)
        return mul(text, factor(_size(sizes, args[0]), REGEX_LENGTH)), (0, size[1])
    if function in _TRAVERSE_ARG and args:
        return factor(_size(sizes, args[0]), STRING_TRAVERSAL), None
    if function == "ip":
        if overload == "cidr_ip":
            return _ONE, None
        if args:
            return factor(_size(sizes, args[0]), STRING_TRAVERSAL), None
    if function == "ip.isCanonical" and args:
        return factor(_size(sizes, args[0]), 2 * STRING_TRAVERSAL), None
    if function in _ONE_UNIT:
        return _ONE, None
    if function in ("containsIP", "containsCIDR") and args:
        address = factor((8, 32), STRING_TRAVERSAL)  # two of 4-16 bytes
        if function == "containsCIDR":
            address = add(add(address, factor((4, 16), STRING_TRAVERSAL)), _ONE)
        if overload in ("cidr_contains_ip_string", "cidr_contains_cidr_string"):
            address = add(address, factor(_size(sizes, args[0]), STRING_TRAVERSAL))
        return address, None
    if function == "_==_" and len(args) == 2 and args[0].type == args[1].type:
        name = args[0].type.message_type
        if name in _O1_EQUAL:
            return _ONE, None
        if name == "kubernetes.URL":
            size = union(args[1].size, args[1].size) if args[1].size else _ONE
            return factor((1, size[1]), STRING_TRAVERSAL), None
    return None


def _replace(size: Range, old: Range, new: Range) -> tuple[Range, Range]:
    if old[0] == 0:
        count_max, kept_max = (size[1] + 1 if size[1] < MAX else size[1]), size[1]
    elif new[1] <= old[0]:
        count_max, kept_max = 0, size[1]
    else:
        count_max, kept_max = math.ceil(size[1] / old[0]), 0
    if old[1] == 0:
        count_min, kept_min = (size[0] + 1 if size[0] < MAX else size[0]), size[0]
    elif old[1] <= new[0]:
        count_min, kept_min = 0, size[0]
    else:
        count_min, kept_min = math.ceil(size[0] / old[1]), 0
    result = add(mul((count_min, count_max), new), (kept_min, kept_max))
    return factor(size, 2 * STRING_TRAVERSAL), result


def _join(sizes: SizeEstimator, target: Node, args: list[Node]) -> tuple[Range, Range]:
    count = _size(sizes, target)
    size: Range = (0, 0)
    if (element := _element(target)) is not None:
        size = mul(count, _size(sizes, element))
    if args:
        separators = (max(count[0] - 1, 0), max(count[1] - 1, 0))
        size = add(size, mul(_size(sizes, args[0]), separators))
    return factor(size, STRING_TRAVERSAL), size
