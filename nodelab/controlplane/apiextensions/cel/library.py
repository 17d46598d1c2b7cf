"""The Kubernetes CEL library (k8s.io/apiserver/pkg/cel/library) as one cel-cpp extension,
beside cel-cpp's standard functions and its strings, optional-types and `cel.bind` extensions:

- lists (`lists.go`, version 1 of Kubernetes 1.37): `isSorted()`, `sum()`, `min()`, `max()`,
  `indexOf(x)`, `lastIndexOf(x)`, `includes(x)`;
- regex (`regex.go`): `find(re)`, `findAll(re)`, `findAll(re, n)`, RE2 as upstream (Go's
  syntax, linear time, the `google-re2` binding);
- sets (cel-go's `ext.Sets`): `sets.contains`, `sets.equivalent`, `sets.intersects`;
- IP and CIDR (`net_library`), quantities (`quantity_library`), URLs (`url_library`).

cel-cpp's own two-variable comprehensions (`all(k, v, ...)`, `exists`, `existsOne`,
`transformList`) and lists extension (`slice`, `flatten`, `lists.range`, `reverse`,
`distinct`, `sort`, `sortBy`) are enabled by `environment.CONFIG`, as upstream's
ext.TwoVarComprehensions and ext.Lists.

Not served: the `format` library (`format.dns1123Label().validate(s)` returns an optional,
which a Python function cannot hand back to cel-cpp: cel_expr_python converts no optional
value, "Unimplemented type"), `semver()` (its `isLessThan`/`isGreaterThan`/`compareTo` take two
messages, as the quantity's do, and cel-cpp registers one implementation per argument kinds),
and `transformMap`/
`transformMapEntry` (their `cel.@mapInsert` has no runtime in cel-cpp's Python binding); a
rule that calls one is refused when its CRD is written, naming the function (`UNSERVED`,
`UNSERVED_CALLS`), never at request time. A function's failure (an empty list's
`min()`, a bad regex) is an evaluation error of the rule, as upstream's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nodelab.controlplane.apiextensions.cel import (
    net_library,
    opaque,
    quantity_library,
    url_library,
)

UNSERVED = frozenset({"format", "semver", "isSemver"})
# declared by cel-cpp's two-variable comprehensions, whose runtime lacks them: the call the
# macros expand to -> what the rule wrote
UNSERVED_CALLS = {"cel.@mapInsert": "transformMap and transformMapEntry (two-variable "
                                    "comprehensions building maps) are"}
MAX_FIND_ALL = 10_000


def _comparable(items: list[Any]) -> list[Any]:
    if any(isinstance(i, (list, dict)) for i in items):
        raise TypeError("no such overload: list items are not comparable")
    return items


def _is_sorted(items: list[Any]) -> bool:
    items = _comparable(items)
    return all(a <= b for a, b in zip(items, items[1:], strict=False))


def _sum(items: list[Any]) -> Any:
    return sum(_comparable(items)) if items else 0


def _min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min called on empty list")
    return min(_comparable(items))


def _max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    return max(_comparable(items))


def _index_of(items: list[Any], wanted: Any) -> int:
    return next((i for i, item in enumerate(items) if item == wanted), -1)


def _includes(target: Any, wanted: Any) -> bool:
    """`includes` (Kubernetes 1.37's lists version 1): an item of a list, or the value."""
    if isinstance(target, list):
        return any(item == wanted for item in target)
    return bool(target == wanted)


def _last_index_of(items: list[Any], wanted: Any) -> int:
    return next((i for i in range(len(items) - 1, -1, -1) if items[i] == wanted), -1)


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> Any:
    import re2  # type: ignore[import-untyped]  # noqa: PLC0415

    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


def _find(text: str, pattern: str) -> str:
    match = _regex(pattern).search(text)
    return match.group(0) if match else ""


def _find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found: list[str] = []
    if limit == 0:
        return found
    for match in _regex(pattern).finditer(text):
        found.append(match.group(0))
        if len(found) == limit or len(found) >= MAX_FIND_ALL:
            break
    return found


def _contains(items: list[Any], wanted: list[Any]) -> bool:
    return all(w in items for w in wanted)


def _intersects(items: list[Any], others: list[Any]) -> bool:
    return any(o in items for o in others)


def extension(cel: Any) -> Any:
    """The library as one extension (so its overloads of `string`, `indexOf`, ... join
    cel-cpp's own)."""
    kinds = opaque.kinds(cel)
    return cel.CelExtension("kubernetes", _lists_regex_sets(cel)
                            + net_library.declarations(cel, kinds)
                            + quantity_library.declarations(cel, kinds)
                            + url_library.declarations(cel, kinds))


def _lists_regex_sets(cel: Any) -> list[Any]:
    T = cel.Type
    dyn_list = T.List(T.DYN)

    def member(name: str, overloads: list[tuple[str, Any, list[Any], Callable[..., Any]]]
               ) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, is_member=True, impl=fn)
                                       for oid, ret, params, fn in overloads])

    def global_(name: str, oid: str, ret: Any, params: list[Any],
                fn: Callable[..., Any]) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, impl=fn)])

    return [
        member("isSorted", [("list_is_sorted", T.BOOL, [dyn_list], _is_sorted)]),
        member("sum", [("list_sum", T.DYN, [dyn_list], _sum)]),
        member("min", [("list_min", T.DYN, [dyn_list], _min)]),
        member("max", [("list_max", T.DYN, [dyn_list], _max)]),
        member("indexOf", [("list_index_of", T.INT, [dyn_list, T.DYN], _index_of)]),
        member("lastIndexOf", [("list_last_index_of", T.INT, [dyn_list, T.DYN],
                                _last_index_of)]),
        member("includes", [("list_includes_dyn_dyn", T.BOOL, [T.DYN, T.DYN], _includes)]),
        member("find", [("string_find_string", T.STRING, [T.STRING, T.STRING], _find)]),
        member("findAll", [
            ("string_find_all_string", T.List(T.STRING), [T.STRING, T.STRING], _find_all),
            ("string_find_all_string_int", T.List(T.STRING), [T.STRING, T.STRING, T.INT],
             _find_all)]),
        global_("sets.contains", "list_sets_contains_list", T.BOOL, [dyn_list, dyn_list],
                _contains),
        global_("sets.equivalent", "list_sets_equivalent_list", T.BOOL, [dyn_list, dyn_list],
                lambda a, b: _contains(a, b) and _contains(b, a)),
        global_("sets.intersects", "list_sets_intersects_list", T.BOOL, [dyn_list, dyn_list],
                _intersects),
    ]
