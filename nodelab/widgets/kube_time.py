"""Times and quantities as Kubernetes writes them, turned into what a learner reads.

Kubernetes timestamps are RFC 3339 (`2026-01-02T03:04:05Z`; MicroTime fields such as a
Lease's `renewTime` carry microseconds). `age` renders how long ago, the way kubectl's AGE
column does (`45s`, `3m12s`, `2h5m`, `4d`). Quantities (`3920Mi`, `500m`) are parsed by the
shared `nodelab.kube.quantities.quantity_value`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from nodelab.kube.quantities import quantity_value


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def now() -> datetime:
    return datetime.now(timezone.utc)


def age(value: object, at: datetime | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "-"
    seconds = int(((at or now()) - moment).total_seconds())
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes}m{seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes}m"
    if hours < 48:
        return f"{hours}h{minutes}m" if hours < 8 else f"{hours}h"
    return f"{hours // 24}d"


def quantity(value: object) -> Decimal | None:
    try:
        return quantity_value(value)
    except (ValueError, ArithmeticError):
        return None
