"""Kubernetes timestamps, the one place they are written and read.

The API has two time types (`metav1.Time` and `metav1.MicroTime`), both RFC 3339 in UTC with
a `Z`: `Time` to the second (`creationTimestamp`, condition transitions, events' timestamps),
`MicroTime` to the microsecond (a Lease's `renewTime`, `events.k8s.io` `eventTime`). CRI
reports times as Unix nanoseconds; `from_nanoseconds` turns those into a `Time`. kubectl's
durations (`human_duration`, `age`) are read from them. Standard library only: the add-ons
share it with the agents and the API server.
"""

from __future__ import annotations

import datetime as dt

TIME_LAYOUT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(when: dt.datetime) -> str:
    """`when` as a `Time`: second precision, UTC, `Z`."""
    return when.astimezone(dt.timezone.utc).strftime(TIME_LAYOUT)


def from_epoch(seconds: float) -> str:
    """A Unix time in seconds as a `Time`."""
    return format_time(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))


def parse_time(text: str | None) -> dt.datetime | None:
    """A `Time` or `MicroTime` as an aware datetime (None for an empty or missing one)."""
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def micro_time(when: dt.datetime | None = None) -> str:
    """`when` (default: now) as a `MicroTime`: microsecond precision, UTC, `Z`."""
    when = when or dt.datetime.now(dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The current time as a `Time`."""
    return format_time(dt.datetime.now(dt.timezone.utc))


def from_nanoseconds(nanoseconds: int) -> str:
    """A CRI timestamp (Unix nanoseconds) as a `Time`; "" for 0 (not happened)."""
    if not nanoseconds:
        return ""
    return from_epoch(nanoseconds / 1e9)


def human_duration(seconds: float) -> str:
    """A duration as kubectl's AGE column writes it (apimachinery's duration.HumanDuration,
    about 2-3 significant figures): `45s`, `3m10s`, `70m`, `3h1m`, `47h`, `2d1h`, `367d`,
    `2y1d`, `8y`; `0s` up to 2 s in the future (clock skew), `<invalid>` beyond."""
    whole = int(seconds)  # Go's int(d.Seconds()): toward zero
    if whole < -1:
        return "<invalid>"
    if whole < 120:
        return f"{max(whole, 0)}s"
    minutes = whole // 60
    if minutes < 10:
        return f"{minutes}m{whole % 60}s" if whole % 60 else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years = days // 365
    if years < 8 and days % 365:
        return f"{years}y{days % 365}d"
    return f"{years}y"


def age(since: str | None) -> str:
    """How long ago the RFC 3339 time `since` was, as kubectl writes it; `<unknown>` without."""
    moment = parse_time(since)
    if moment is None:
        return "<unknown>"
    return human_duration((dt.datetime.now(dt.timezone.utc) - moment).total_seconds())
