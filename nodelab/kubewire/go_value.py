"""Go's `%v` of a decoded JSON value (`map[string]interface{}`, `[]interface{}`, ...), for
error texts that upstream formats with it.

A map is `map[k1:v1 k2:v2]` with its keys sorted (fmt sorts map keys), a list `[a b]`, a
string as it is, `nil` as `<nil>`, a bool `true`/`false`. Numbers are as k8s.io/apimachinery's
JSON decoder leaves them: a whole number is an int64 (`80`), any other a float64 in `%g`'s
shortest form (`0.5`, `1.5e-07`, `1.2345675e+06`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _float(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    shortest = repr(value)  # Python's repr is the shortest round-trip form, as strconv's -1
    digits = shortest.lstrip("-").split("e")[0].replace(".", "").strip("0") or "0"
    exponent = Decimal(shortest).adjusted()
    if exponent < -4 or exponent >= 6:  # %g with the shortest precision decides by 6
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        sign = "-" if value < 0 else ""
        return f"{sign}{head}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return shortest


def go_v(value: Any) -> str:
    """`fmt.Sprintf("%v", value)`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2 ** 63:
            return str(int(value))
        return _float(value)
    return str(value)
