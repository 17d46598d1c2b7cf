"""Kubernetes quantities and Go durations, printed as the Go libraries print them.

- `cpu(nanocores)`: `resource.NewScaledQuantity(n, -9)` in DecimalSI, canonical: trailing zeros
  moved into the suffix by thousands (`250000000` -> `250m`, `1234567` -> `1234567n`);
- `memory(bytes)`: BinarySI: below 1024 as a plain (DecimalSI) number, else divided by 1024
  while it divides (`1536000` -> `1500Ki`, `1536001` -> `1536001`);
- `duration(ns)`: Go's `time.Duration.String()` (`15.012s`, `1m0.5s`, `750ms`).
"""

from __future__ import annotations

_DECIMAL = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P",
            18: "E"}
_BINARY = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


def decimal(value: int, scale: int) -> str:
    """`value` x 10^`scale` in canonical DecimalSI."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, exponent = abs(value), scale
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    extra = exponent % 3
    mantissa *= 10 ** extra
    exponent -= extra
    while exponent > 18:
        mantissa *= 1000
        exponent -= 3
    return f"{sign}{mantissa}{_DECIMAL[exponent]}"


def cpu(nanocores: int) -> str:
    return decimal(nanocores, -9)


def memory(value: int) -> str:
    if -1024 < value < 1024:
        return decimal(value, 0)
    mantissa, power = value, 0
    while mantissa % 1024 == 0 and power < len(_BINARY) - 1:
        mantissa //= 1024
        power += 1
    return f"{mantissa}{_BINARY[power]}"


def _fraction(value: int, digits: int) -> str:
    whole, part = divmod(value, 10 ** digits)
    text = str(part).rjust(digits, "0").rstrip("0")
    return f"{whole}.{text}" if text else str(whole)


def duration(ns: int) -> str:
    """Go's Duration.String()."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 6)}ms"
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    text = f"{_fraction(rest, 9)}s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text
