"""Kubernetes resource quantities (`resource.Quantity`), the one parser every component uses.

A quantity is a number with an optional suffix: binary (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`),
decimal (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`) or an exponent (`1e3`).
`quantity_value` is its exact value (a Decimal: what the scheduler sums and validation
compares). The kubelet works in integers: bytes for memory and storage, millicores for cpu,
counts for pods and pids. `parse_quantity` turns a string into that integer (milli units when
asked); `format_bytes` and `format_cpu` write the canonical forms the API server shows back
(`8026548Ki`, `2`, `1500m`), so a learner sees in `kubectl describe node` what upstream shows.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from nodelab.errors import NodelabError

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_FRACTIONS = {"n": 10**9, "u": 10**6, "m": 10**3}
_PATTERN = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[A-Za-z]*)$")


class InvalidQuantity(NodelabError, ValueError):
    """A string that is not a Kubernetes quantity."""


def quantity_value(text: object) -> Decimal:
    """The exact value of a quantity (`"100m"` -> 0.1, `"1Gi"` -> 1073741824, `2` -> 2)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return Decimal(str(text))
    if not isinstance(text, str):
        raise InvalidQuantity(f"invalid quantity {text!r}: write e.g. 100Mi, 2, 500m or 1G")
    match = _PATTERN.match(text.strip())
    if not match:
        raise InvalidQuantity(f"invalid quantity {text!r}: write e.g. 100Mi, 2, 500m or 1G")
    number, suffix = match.groups()
    try:
        value = Decimal(number)
    except InvalidOperation as exc:
        raise InvalidQuantity(f"invalid quantity {text!r}: bad number {number!r}") from exc
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    if suffix in _FRACTIONS:
        return value / _FRACTIONS[suffix]
    if suffix[:1] in ("e", "E"):
        return value * Decimal(10) ** int(suffix[1:])
    raise InvalidQuantity(f"invalid quantity {text!r}: unknown suffix {suffix!r}")


def parse_quantity(text: str | int | float, *, milli: bool = False) -> int:
    """The integer value of `text` (in thousandths when `milli`), rounded up like upstream."""
    value = quantity_value(text)
    if milli:
        value *= 1000
    integral = int(value)
    return integral + 1 if value > integral else integral


def format_bytes(value: int) -> str:
    """Bytes in the largest binary suffix that divides them exactly (`8026548Ki`, `100Mi`)."""
    if value == 0:
        return "0"
    for suffix, size in reversed(list(_BINARY.items())):
        if value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def format_quantity(value: int, like: str) -> str:
    """An integer quantity as upstream's `Quantity.String()` writes it in the format of `like`
    (the quantity it came from): a binary suffix (`2048Ki` -> `2Mi`), an exponent (`1e6`) or
    decimal SI (`2000k` -> `2M`, `1500000` -> `1500k`)."""
    match = _PATTERN.match(like.strip())
    suffix = match.group(2) if match else ""
    if suffix in _BINARY:
        return format_bytes(value)
    exponent = 0
    while value != 0 and value % 1000 == 0 and exponent < 18:
        value, exponent = value // 1000, exponent + 3
    if suffix not in _DECIMAL and suffix[:1] in ("e", "E"):
        return f"{value}e{exponent}" if exponent else str(value)
    names = {3 * i: name for i, name in enumerate(_DECIMAL)}
    return f"{value}{names[exponent]}"


def format_cpu(millicores: int) -> str:
    """Millicores (or any milli-units: a DecimalSI milli-quantity) as whole units when exact
    (`2`), else in milli (`1500m`)."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"
_EXPONENT_SUFFIX = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P",
                    18: "E"}


def quantity_format(text: object) -> str:
    """The format a quantity was written in (upstream's `Quantity.Format`): a binary suffix is
    BinarySI, an exponent DecimalExponent, anything else DecimalSI."""
    match = _PATTERN.match(str(text).strip()) if isinstance(text, str) else None
    suffix = match.group(2) if match else ""
    if suffix in _BINARY:
        return BINARY_SI
    if suffix[:1] in ("e", "E"):
        return DECIMAL_EXPONENT
    return DECIMAL_SI


def canonical(value: Decimal, fmt: str = DECIMAL_SI) -> str:
    """`value` as upstream's `Quantity.String()` writes it in format `fmt`: BinarySI by the
    largest power of 1024 that divides it (`1536Mi`; a value under 1024 or with a fraction is
    written in DecimalSI), DecimalSI and DecimalExponent with an exponent that is a multiple of
    three (`500m`, `1500k`, `2`; `1e3`), rounded up to nano units as upstream."""
    value = (value * 10**9).to_integral_value(rounding="ROUND_CEILING") / Decimal(10**9)
    if value == 0:
        return "0"
    if fmt == BINARY_SI and abs(value) >= 1024 and value == value.to_integral_value():
        return format_bytes(int(value)) if value > 0 else "-" + format_bytes(int(-value))
    sign, digits, exponent = value.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)))
    exp = int(exponent)
    while exp % 3:
        mantissa, exp = mantissa * 10, exp - 1
    while exp > 18:
        mantissa, exp = mantissa * 1000, exp - 3
    text = ("-" if sign else "") + str(mantissa)
    if fmt == DECIMAL_EXPONENT:
        return text + (f"e{exp}" if exp else "")
    return text + _EXPONENT_SUFFIX[exp]


def canonical_text(text: object) -> str:
    """A quantity string in upstream's canonical form (`1.5Gi` -> `1536Mi`, `0.5` -> `500m`)."""
    return canonical(quantity_value(text), quantity_format(text))
