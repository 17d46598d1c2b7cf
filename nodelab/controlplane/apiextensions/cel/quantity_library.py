"""The Kubernetes CEL quantity library (k8s.io/apiserver/pkg/cel/library `quantity.go`):

    quantity('500Mi'), isQuantity(s), q.sign(), q.isInteger(), q.asInteger(),
    q.asApproximateFloat(), q.add(q or int), q.sub(q or int), q.isLessThan(q),
    q.isGreaterThan(q), q.compareTo(q), and `==` by value (`quantity('1') ==
    quantity('1000m')`).

Quantities are parsed by nodelab's one parser (`kube/quantities.py`) and computed exactly (a
fraction); a string that is not a quantity is an evaluation error with upstream's text, and
`asInteger()` of a fraction or of a value past int64 is "cannot convert value to integer".
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from nodelab.controlplane.apiextensions.cel.opaque import Kinds
from nodelab.kube.quantities import InvalidQuantity, quantity_value

FORMAT_WRONG = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
_GO_FORMAT = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
INT64 = (-(2**63), 2**63 - 1)


def parse(text: str) -> Fraction:
    if not _GO_FORMAT.match(text):
        raise ValueError(FORMAT_WRONG)
    try:
        return Fraction(quantity_value(text))
    except InvalidQuantity:
        raise ValueError("unable to parse quantity's suffix") from None


def _is_quantity(text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _as_integer(value: Fraction) -> int:
    if value.denominator != 1 or not INT64[0] <= value.numerator <= INT64[1]:
        raise ValueError("cannot convert value to integer")
    return value.numerator


def _compare(a: Fraction, b: Fraction) -> int:
    return (a > b) - (a < b)


def declarations(cel: Any, kinds: Kinds) -> list[Any]:
    T = cel.Type
    Q = kinds.quantity

    def value(q: Any) -> Fraction:
        return Fraction(q.value)

    def new(amount: Fraction) -> Any:
        return kinds.Quantity(value=str(amount))

    def other(arg: Any) -> Fraction:
        return Fraction(arg) if isinstance(arg, int) else value(arg)

    def member(name: str, overloads: list[tuple[str, Any, list[Any], Any]]) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, is_member=True, impl=fn)
                                       for oid, ret, params, fn in overloads])

    return [
        cel.FunctionDecl("quantity", [cel.Overload(
            "string_to_quantity", Q, [T.STRING], impl=lambda s: new(parse(s)))]),
        cel.FunctionDecl("isQuantity", [cel.Overload(
            "is_quantity_string", T.BOOL, [T.STRING], impl=_is_quantity)]),
        member("sign", [("quantity_sign", T.INT, [Q],
                         lambda q: _compare(value(q), Fraction(0)))]),
        member("isInteger", [("quantity_is_integer", T.BOOL, [Q],
                              lambda q: _is_integer(value(q)))]),
        member("asInteger", [("quantity_get_integer", T.INT, [Q],
                              lambda q: _as_integer(value(q)))]),
        member("asApproximateFloat", [("quantity_get_float", T.DOUBLE, [Q],
                                       lambda q: float(value(q)))]),
        member("add", [("quantity_add", Q, [Q, Q], lambda a, b: new(value(a) + other(b))),
                       ("quantity_add_int", Q, [Q, T.INT],
                        lambda a, b: new(value(a) + other(b)))]),
        member("sub", [("quantity_sub", Q, [Q, Q], lambda a, b: new(value(a) - other(b))),
                       ("quantity_sub_int", Q, [Q, T.INT],
                        lambda a, b: new(value(a) - other(b)))]),
        member("isLessThan", [("quantity_less", T.BOOL, [Q, Q],
                               lambda a, b: value(a) < value(b))]),
        member("isGreaterThan", [("quantity_greater", T.BOOL, [Q, Q],
                                  lambda a, b: value(a) > value(b))]),
        member("compareTo", [("quantity_compare", T.INT, [Q, Q],
                              lambda a, b: _compare(value(a), value(b)))]),
    ]


def _is_integer(value: Fraction) -> bool:
    try:
        _as_integer(value)
    except ValueError:
        return False
    return True
