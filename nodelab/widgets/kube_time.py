"""Times and quantities as Kubernetes writes them, turned into what a learner reads.

Kubernetes timestamps are RFC 3339 (`2026-01-02T03:04:05Z`; MicroTime fields such as a
Lease's `renewTime` carry microseconds). `age` renders how long ago, the way kubectl's AGE
column does (`45s`, `3m12s`, `70m`, `3h1m`, `2d1h`): both read and write with the shared
`nodelab.kubewire.times`, as quantities (`3920Mi`, `500m`) with `nodelab.kube.quantities`; what
the views add is leniency (a missing or malformed time shows as `-`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from nodelab.kube.quantities import quantity_value
from nodelab.kubewire import times


def parse_time(value: object) -> datetime | None:
    """`value` as an aware datetime; None when it is no time (naive times are taken as UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = times.parse_time(value)
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


def age(value: object, at: datetime | None = None) -> str:
    """How long before `at` (default: now) the time `value` was, as kubectl's AGE column
    writes it (`times.human_duration`); `-` for no time."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    return times.human_duration(((at or now()) - moment).total_seconds())


def quantity(value: object) -> Decimal | None:
    try:
        return quantity_value(value)
    except (ValueError, ArithmeticError):
        return None
