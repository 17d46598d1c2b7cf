"""Resource lists (`corev1.ResourceList`): quantities by resource name, with upstream's
arithmetic (pkg/quota/v1 `resources.go`) and the way upstream writes them.

A `Quantity` keeps the format it was written in, so a sum prints as upstream's does (`1Gi` +
`512Mi` is `1536Mi`, `500m` + `500m` is `1`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nodelab.kube.quantities import DECIMAL_SI, canonical, quantity_format, quantity_value


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    fmt: str = DECIMAL_SI

    @classmethod
    def parse(cls, text: object) -> Quantity:
        return cls(quantity_value(text), quantity_format(text))

    def __str__(self) -> str:
        return canonical(self.value, self.fmt)

    def __add__(self, other: Quantity) -> Quantity:
        # upstream's Quantity.Add keeps the receiver's format, a zero one takes the other's
        return Quantity(self.value + other.value, self.fmt if self.value else other.fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, self.fmt if self.value else other.fmt)


ResourceList = dict[str, Quantity]
ZERO = Quantity(Decimal(0))


def parse_list(values: Mapping[str, Any] | None) -> ResourceList:
    """A ResourceList from an object's map of quantity strings (`{"cpu": "500m"}`)."""
    return {name: Quantity.parse(text) for name, text in (values or {}).items()}


def to_strings(values: ResourceList) -> dict[str, str]:
    return {name: str(quantity) for name, quantity in sorted(values.items())}


def add(a: ResourceList, b: ResourceList) -> ResourceList:
    result = dict(a)
    for name, quantity in b.items():
        result[name] = result[name] + quantity if name in result else quantity
    return result


def subtract_non_negative(a: ResourceList, b: ResourceList) -> ResourceList:
    """a - b per name of `a`, never below zero (upstream's SubtractWithNonNegativeResult)."""
    result = {}
    for name, quantity in a.items():
        left = quantity - b[name] if name in b else quantity
        result[name] = left if left.value > 0 else Quantity(Decimal(0), quantity.fmt)
    return result


def mask(values: ResourceList, names: Iterable[str]) -> ResourceList:
    keep = set(names)
    return {name: quantity for name, quantity in values.items() if name in keep}


def remove_zeros(values: ResourceList) -> ResourceList:
    return {name: quantity for name, quantity in values.items() if quantity.value != 0}


def negative(values: ResourceList) -> list[str]:
    return sorted(name for name, quantity in values.items() if quantity.value < 0)


def less_than_or_equal(a: ResourceList, b: ResourceList) -> tuple[bool, list[str]]:
    """Whether each of `a` is at most `b`'s (a name `b` lacks is no limit), and which exceed."""
    exceeded = sorted(name for name, quantity in a.items()
                      if name in b and quantity.value > b[name].value)
    return not exceeded, exceeded


def pretty(values: ResourceList) -> str:
    """upstream's prettyPrint: `name=value` sorted by name, joined by commas."""
    return ",".join(f"{name}={values[name]}" for name in sorted(values))


def equal(a: ResourceList, b: ResourceList) -> bool:
    return a.keys() == b.keys() and all(a[name].value == b[name].value for name in a)
