"""IntOrString (`maxSurge: 1`, `maxUnavailable: "25%"`): one reading for validation and the
controllers, as k8s.io/apimachinery reads it.

A JSON number is an int; a JSON string is a string, and only a **percentage** string is a
valid value for the rollout fields: `IsValidPercent` (pkg/util/validation) wants
`^[0-9]+%$` exactly (no sign, no decimals, no spaces; `101%` is a valid *format*, the
validators bound it separately). Two readings exist upstream and both are here:

- validation's (pkg/apis/apps/validation): `percent_value` is the number of a valid percent
  string (else None) and `int_or_percent_value` that number, or the int, or, for any other
  string, `IntValue()`: Go's `strconv.Atoi` of the text, 0 when it does not parse;
- the controllers' (pkg/util/intstr `GetScaledValueFromIntOrPercent`): `scaled_value(value,
  total, round_up)` is an int as it is, a percentage of `total` rounded up or down as each
  caller asks (a Deployment's maxSurge up and maxUnavailable down, as `ResolveFenceposts`; a
  DaemonSet's both up, as `SurgeCount` / `UnavailableCount`), and an error for anything else
  (a string without `%` is not a number here), with upstream's text.
"""

from __future__ import annotations

import math
import re

from nodelab.errors import NodelabError
from nodelab.kubewire.go_quote import go_quote

IntOrString = int | str

PERCENT_FORMAT = "[0-9]+%"
PERCENT_MESSAGE = ("a valid percent string must be a numeric string followed by an ending '%' "
                   "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
_PERCENT = re.compile(PERCENT_FORMAT)
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64 = (-(2**63), 2**63 - 1)


class InvalidIntOrString(NodelabError, ValueError):
    """An IntOrString the controllers cannot scale (upstream's error text)."""


def is_valid_percent(text: str) -> list[str]:
    """`IsValidPercent`: no messages for `0%`, `01%`, `101%`; one for `5`, `5.5%`, `-1%`."""
    return [] if _PERCENT.fullmatch(text) else [PERCENT_MESSAGE]


def atoi(text: str) -> tuple[int, str]:
    """Go's `strconv.Atoi`: (value, "") or (0 / the clamped value, its error text)."""
    if not _ATOI.fullmatch(text):
        return 0, f"strconv.Atoi: parsing {go_quote(text)}: invalid syntax"
    value = int(text)
    low, high = _INT64
    if not low <= value <= high:
        clamped = high if value > 0 else low
        return clamped, f"strconv.Atoi: parsing {go_quote(text)}: value out of range"
    return value, ""


def as_int(value: object) -> int | None:
    """The int of an IntOrString that is a number (a JSON `2.0` too), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def percent_value(value: object) -> int | None:
    """Validation's `getPercentValue`: the number of a valid percent string, else None."""
    if not isinstance(value, str) or is_valid_percent(value):
        return None
    return atoi(value[:-1])[0]


def int_or_percent_value(value: object) -> int:
    """Validation's `getIntOrPercentValue`: the percent's number, the int, or `IntValue()` of
    another string (Atoi, 0 when it does not parse). A missing value is Go's zero value, 0."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return atoi(value)[0]
    number = as_int(value)
    return number if number is not None else 0


def scaled_value(value: object, total: int, round_up: bool) -> int:
    """`GetScaledValueFromIntOrPercent`: an int as it is, `N%` of `total` rounded up or down;
    `InvalidIntOrString` for anything else."""
    if value is None:
        raise InvalidIntOrString("nil value for IntOrString")
    number = as_int(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        raise InvalidIntOrString(
            "invalid value for IntOrString: invalid type: neither int nor percentage")
    if not value.endswith("%"):
        raise InvalidIntOrString(
            "invalid value for IntOrString: invalid type: string is not a percentage")
    percent, error = atoi(value[:-1])
    if error:
        raise InvalidIntOrString(
            f"invalid value for IntOrString: invalid value {go_quote(value)}: {error}")
    scaled = float(percent) * float(total) / 100
    return math.ceil(scaled) if round_up else math.floor(scaled)
