"""The estimated cost of a CEL expression, as cel-go's `checker.Cost` (checker/cost.go) with the
options Kubernetes uses (`PresenceTestHasCost(false)`), on the checked AST cel-cpp hands back
(`Expression.serialize()`: a `cel.expr.CheckedExpr` with every node's type and overloads).

A cost is a (min, max) pair of cel-go's units: an identifier or field selection 1, a constant
0, a list literal 10, a map 30, a message 40, a comprehension its range's size times its
step and condition, a string function a tenth of a unit per byte it may traverse. Sizes come
from the literals themselves, else from the schema through `library_cost.SizeEstimator` (the
`@items`/`@values`/`@keys` path of a value under `self`), else unknown (0 to 2^64-1, so an
unbounded list makes the estimate saturate, as upstream's). The Kubernetes library's functions
are estimated by `library_cost`; cel-cpp names its overloads as cel-go does.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.controlplane.apiextensions.cel import library_cost, lists_cost
from nodelab.controlplane.apiextensions.cel.expr import checked_pb2, syntax_pb2
from nodelab.controlplane.apiextensions.cel.library_cost import (
    MAX,
    STRING_TRAVERSAL,
    UNKNOWN,
    Node,
    Range,
    add,
    factor,
    mul,
    union,
)

SELECT_AND_IDENT, CONST = 1, 0
LIST_CREATE, MAP_CREATE, STRUCT_CREATE = 10, 30, 40
REGEX_LENGTH = 0.25
ACCUMULATORS = ("@result", "__result__")


def checked(serialized: bytes) -> checked_pb2.CheckedExpr:
    """cel-cpp's `Expression.serialize()` (a CheckedExpr in an Any) as the message."""
    from google.protobuf import any_pb2  # noqa: PLC0415

    wrapper = any_pb2.Any()
    wrapper.ParseFromString(serialized)
    expr = checked_pb2.CheckedExpr()
    wrapper.Unpack(expr)
    return expr


def estimate(expr: checked_pb2.CheckedExpr, sizes: library_cost.SizeEstimator) -> Range:
    """The (min, max) cost of a checked expression."""
    return _Coster(expr, sizes).cost(expr.expr)


@dataclass
class _Var:
    path: tuple[str, ...]
    size: Range | None
    entry: _Entry | None


@dataclass(frozen=True)
class _Entry:
    """The sizes of a container's keys and values (`entrySizeEstimate`)."""

    kind: str  # list or map
    key: Range
    val: Range

    def union(self, other: _Entry | None) -> _Entry | None:
        if other is None:
            return None
        return _Entry(self.kind, union(self.key, other.key), union(self.val, other.val))


class _Coster:
    def __init__(self, expr: checked_pb2.CheckedExpr,
                 sizes: library_cost.SizeEstimator) -> None:
        self.ast = expr
        self.sizes = sizes
        self.paths: dict[int, tuple[str, ...]] = {}
        self.scopes: dict[str, list[_Var]] = {}
        self.computed: dict[int, Range] = {}
        self.entries: dict[int, _Entry] = {}

    # the walk
    def cost(self, e: syntax_pb2.Expr) -> Range:
        kind = e.WhichOneof("expr_kind")
        if kind == "const_expr":
            return (CONST, CONST)
        if kind == "ident_expr":
            var = self._peek(e.ident_expr.name)
            self.paths[e.id] = var.path if var else (e.ident_expr.name,)
            return (SELECT_AND_IDENT, SELECT_AND_IDENT)
        if kind == "select_expr":
            return self._select(e)
        if kind == "call_expr":
            return self._call(e)
        if kind == "list_expr":
            return self._list(e)
        if kind == "struct_expr":
            return self._struct(e)
        if kind == "comprehension_expr":
            return self._bind(e) if self._is_bind(e) else self._comprehension(e)
        return (0, 0)

    def _select(self, e: syntax_pb2.Expr) -> Range:
        sel = e.select_expr
        total = self.cost(sel.operand)
        if sel.test_only:  # PresenceTestHasCost(false): only the operand
            return total
        if self._type(sel.operand).WhichOneof("type_kind") in (
                "map_type", "message_type", "type_param"):
            total = add(total, (SELECT_AND_IDENT, SELECT_AND_IDENT))
        self.paths[e.id] = self._path(sel.operand) + (sel.field,)
        return total

    def _call(self, e: syntax_pb2.Expr) -> Range:
        call = e.call_expr
        if call.function == "dyn" and len(call.args) == 1:
            arg_cost = self.cost(call.args[0])
            self._copy_sizes(e, call.args[0])
            return add((1, 1), arg_cost)
        arg_costs = [self.cost(arg) for arg in call.args]
        args = [self._node(arg) for arg in call.args]
        overloads = list(self.ast.reference_map[e.id].overload_id) \
            if e.id in self.ast.reference_map else []
        if not overloads:
            return (0, 0)
        total: Range = (0, 0)
        target = None
        if call.HasField("target"):
            total = add(total, self.cost(call.target))
            target = self._node(call.target)
        fn: Range = (MAX, 0)
        result: Range | None = None
        for overload in overloads:
            cost, size = self._function(e, call.function, overload, target, args, arg_costs)
            fn = union(fn, cost)
            if size is not None:
                result = size if result is None else union(result, size)
            if overload in ("index_list", "index_map") and call.args:
                entry = self._entry(call.args[0])
                result = entry.val if entry else None
                self.paths[e.id] = self._path(call.args[0]) + (
                    "@items" if overload == "index_list" else "@values",)
            if result is None:
                result = self._size(e)
        if result is not None:
            self.computed[e.id] = result
        return add(total, fn)

    def _list(self, e: syntax_pb2.Expr) -> Range:
        total: Range = (0, 0)
        item: Range = (MAX, 0) if e.list_expr.elements else (0, 0)
        for element in e.list_expr.elements:
            total = add(total, self.cost(element))
            item = union(item, self._size_or_unknown(element))
        self.entries[e.id] = _Entry("list", (1, 1), item)
        return add(total, (LIST_CREATE, LIST_CREATE))

    def _struct(self, e: syntax_pb2.Expr) -> Range:
        create = e.struct_expr
        total: Range = (0, 0)
        if create.message_name:
            for entry in create.entries:
                total = add(total, self.cost(entry.value))
            return add(total, (STRUCT_CREATE, STRUCT_CREATE))
        keys: Range = (MAX, 0) if create.entries else (0, 0)
        vals = keys
        for entry in create.entries:
            total = add(add(total, self.cost(entry.map_key)), self.cost(entry.value))
            keys = union(keys, self._size_or_unknown(entry.map_key))
            vals = union(vals, self._size_or_unknown(entry.value))
        self.entries[e.id] = _Entry("map", keys, vals)
        return add(total, (MAP_CREATE, MAP_CREATE))

    def _comprehension(self, e: syntax_pb2.Expr) -> Range:
        comp = e.comprehension_expr
        total = add(self.cost(comp.iter_range), self.cost(comp.accu_init))
        self._push(comp.accu_var, self._path(comp.accu_init), self._size(comp.accu_init),
                   self._entry(comp.accu_init))
        entry = self._entry(comp.iter_range)
        container = entry.kind if entry else self._container(comp.iter_range)
        path = self._path(comp.iter_range)
        if comp.iter_var2:
            self._push(comp.iter_var, path + (
                "@indices" if container == "list" else "@keys",), entry.key if entry else None)
            self._push(comp.iter_var2, path + (
                "@items" if container == "list" else "@values",), entry.val if entry else None)
        elif container == "list":
            self._push(comp.iter_var, path + ("@items",), entry.val if entry else None)
        else:
            self._push(comp.iter_var, path + ("@keys",), entry.key if entry else None)
        loop = self.cost(comp.loop_condition)
        step = self.cost(comp.loop_step)
        self.scopes[comp.iter_var].pop()
        if comp.iter_var2:
            self.scopes[comp.iter_var2].pop()
        total = add(total, self.cost(comp.result))
        self.scopes[comp.accu_var].pop()
        count = self._size_or_unknown(comp.iter_range)
        total = add(total, mul(count, add(step, loop)))
        init_kind = comp.accu_init.WhichOneof("expr_kind")
        if init_kind == "const_expr":
            if (size := self._size(comp.accu_init)) is not None:
                self.computed[e.id] = size
        elif init_kind == "list_expr" or (init_kind == "struct_expr"
                                          and not comp.accu_init.struct_expr.message_name):
            self.computed[e.id] = count
            if (step_entry := self._entry(comp.loop_step)) is not None:
                self.entries[e.id] = step_entry
        return total

    def _is_bind(self, e: syntax_pb2.Expr) -> bool:
        comp = e.comprehension_expr
        return (comp.iter_range.WhichOneof("expr_kind") == "list_expr"
                and not comp.iter_range.list_expr.elements
                and comp.loop_condition.WhichOneof("expr_kind") == "const_expr"
                and comp.loop_condition.const_expr.WhichOneof("constant_kind") == "bool_value"
                and not comp.loop_condition.const_expr.bool_value
                and comp.accu_var not in ACCUMULATORS)

    def _bind(self, e: syntax_pb2.Expr) -> Range:
        comp = e.comprehension_expr
        total = add(self.cost(comp.iter_range), self.cost(comp.accu_init))
        self._push(comp.accu_var, self._path(comp.accu_init), self._size(comp.accu_init),
                   self._entry(comp.accu_init))
        total = add(total, self.cost(comp.result))
        self.scopes[comp.accu_var].pop()
        self._copy_sizes(e, comp.result)
        return total

    # functions (`functionCost`)
    def _function(self, e: syntax_pb2.Expr, function: str, overload: str,
                  target: Node | None, args: list[Node], arg_costs: list[Range]
                  ) -> tuple[Range, Range | None]:
        arg_sum: Range = (0, 0)
        for cost in arg_costs:
            arg_sum = add(arg_sum, cost)
        call = lists_cost.call_cost(self.sizes, overload, target, args)
        if call is None:
            call = library_cost.call_cost(self.sizes, function, overload, target, args)
        if call is not None:
            return add(call[0], arg_sum), call[1]
        size = self._size_or_unknown_node
        if overload == "string_format" and target is not None:
            return add(factor(size(target), STRING_TRAVERSAL), arg_sum), None
        if overload in ("string_to_bytes", "bytes_to_string", "strings_quote") and len(
                args) == 1:
            sz = size(args[0])
            result = {"string_to_bytes": (sz[0], _sat(sz[1] * 4)),
                      "bytes_to_string": (sz[0] // 4, sz[1]),
                      "strings_quote": (sz[0] + 2, _sat(sz[1] * 2 + 2))}[overload]
            return add(factor(sz, STRING_TRAVERSAL), arg_sum), result
        if overload in ("starts_with_string", "ends_with_string") and len(args) == 1:
            return add(factor(size(args[0]), STRING_TRAVERSAL), arg_sum), None
        if overload == "in_list" and len(args) == 2:
            return add(factor(size(args[1]), 1), arg_sum), None
        if overload == "matches_string" and target is not None and len(args) == 1:
            text = factor(add(size(target), (1, 1)), STRING_TRAVERSAL)
            return add(mul(text, factor(size(args[0]), REGEX_LENGTH)), arg_sum), None
        if overload == "contains_string" and target is not None and len(args) == 1:
            text = factor(size(target), STRING_TRAVERSAL)
            return add(mul(text, factor(size(args[0]), STRING_TRAVERSAL)), arg_sum), None
        if overload in ("logical_or", "logical_and"):
            return (arg_costs[0][0], add(arg_costs[0], arg_costs[1])[1]), None
        if overload == "conditional":
            result = union(size(args[1]), size(args[2]))
            left, right = self._entry(call_args(e)[1]), self._entry(call_args(e)[2])
            if left is not None and (joined := left.union(right)) is not None:
                self.entries[e.id] = joined
            return add(arg_costs[0], union(arg_costs[1], arg_costs[2])), result
        if overload in ("add_string", "add_bytes", "add_list") and len(args) == 2:
            result = add(size(args[0]), size(args[1]))
            left, right = self._entry(call_args(e)[0]), self._entry(call_args(e)[1])
            if left is not None and (joined := left.union(right)) is not None:
                self.entries[e.id] = joined
            if overload == "add_list":
                return add((1, 1), arg_sum), result
            return add(factor(result, STRING_TRAVERSAL), arg_sum), result
        if overload in _COMPARISONS and len(args) == 2:
            smallest = min(size(args[0])[1], size(args[1])[1])
            return add(factor((1 if smallest > 0 else 0, smallest), STRING_TRAVERSAL),
                       arg_sum), None
        return add((1, 1), arg_sum), None

    # sizes, paths and local variables
    def _push(self, name: str, path: tuple[str, ...], size: Range | None,
              entry: _Entry | None = None) -> None:
        self.scopes.setdefault(name, []).append(_Var(path, size, entry))

    def _peek(self, name: str) -> _Var | None:
        stack = self.scopes.get(name)
        return stack[-1] if stack else None

    def _path(self, e: syntax_pb2.Expr) -> tuple[str, ...]:
        if e.WhichOneof("expr_kind") == "ident_expr" and (
                var := self._peek(e.ident_expr.name)) is not None:
            return var.path
        return self.paths.get(e.id, ())

    def _type(self, e: syntax_pb2.Expr) -> checked_pb2.Type:
        return self.ast.type_map.get(e.id, checked_pb2.Type())

    def _container(self, e: syntax_pb2.Expr) -> str:
        kind = self._type(e).WhichOneof("type_kind")
        return "list" if kind == "list_type" else "map"

    def _node(self, e: syntax_pb2.Expr) -> Node:
        path = self._path(e)
        if path and path[0] in ACCUMULATORS:
            path = ()
        return Node(path, self._type(e), e, self._size(e))

    def _size(self, e: syntax_pb2.Expr) -> Range | None:
        if e.id in self.computed:
            return self.computed[e.id]
        if (literal := _literal_size(e)) is not None:
            return literal
        node = Node(self._path(e), self._type(e), e, None)
        if (estimated := self.sizes.estimate_size(node)) is not None:
            self.computed[e.id] = estimated
            return estimated
        if library_cost.is_scalar(self._type(e)):
            return (1, 1)
        if e.WhichOneof("expr_kind") == "ident_expr" and (
                var := self._peek(e.ident_expr.name)) is not None and var.size is not None:
            return var.size
        return None

    def _size_or_unknown(self, e: syntax_pb2.Expr) -> Range:
        size = self._size(e)
        return size if size is not None else UNKNOWN

    @staticmethod
    def _size_or_unknown_node(node: Node) -> Range:
        return node.size if node.size is not None else UNKNOWN

    def _entry(self, e: syntax_pb2.Expr) -> _Entry | None:
        if e.id in self.entries:
            return self.entries[e.id]
        if e.WhichOneof("expr_kind") == "ident_expr" and (
                var := self._peek(e.ident_expr.name)) is not None:
            return var.entry
        return None

    def _copy_sizes(self, dst: syntax_pb2.Expr, src: syntax_pb2.Expr) -> None:
        if (size := self._size(src)) is not None:
            self.computed[dst.id] = size
        if (entry := self._entry(src)) is not None:
            self.entries[dst.id] = entry


_COMPARISONS = frozenset({
    "less_string", "greater_string", "less_equals_string", "greater_equals_string",
    "less_bytes", "greater_bytes", "less_equals_bytes", "greater_equals_bytes",
    "equals", "not_equals"})


def call_args(e: syntax_pb2.Expr) -> list[syntax_pb2.Expr]:
    return list(e.call_expr.args)


def _sat(value: int) -> int:
    return min(value, MAX)


def _literal_size(e: syntax_pb2.Expr) -> Range | None:
    """`computeExprSize`: a literal's own size."""
    kind = e.WhichOneof("expr_kind")
    if kind == "const_expr":
        constant = e.const_expr.WhichOneof("constant_kind")
        if constant == "string_value":
            return (len(e.const_expr.string_value),) * 2
        if constant == "bytes_value":
            return (len(e.const_expr.bytes_value),) * 2
        if constant in ("bool_value", "double_value", "duration_value", "int64_value",
                        "timestamp_value", "uint64_value", "null_value"):
            return (1, 1)
        return None
    if kind == "list_expr":
        return (len(e.list_expr.elements),) * 2
    if kind == "struct_expr" and not e.struct_expr.message_name:
        return (len(e.struct_expr.entries),) * 2
    return None

