"""Kubernetes timestamps, the one place they are written and read.

The API has two time types (`metav1.Time` and `metav1.MicroTime`), both RFC 3339 in UTC with
a `Z`: `Time` to the second (`creationTimestamp`, condition transitions, events' timestamps),
`MicroTime` to the microsecond (a Lease's `renewTime`, `events.k8s.io` `eventTime`). CRI
reports times as Unix nanoseconds; `from_nanoseconds` turns those into a `Time`.
"""

from __future__ import annotations

import datetime as dt


def parse_time(text: str | None) -> dt.datetime | None:
    """A `Time` or `MicroTime` as an aware datetime (None for an empty or missing one)."""
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_time(when: dt.datetime) -> str:
    """`when` as a `Time`: second precision, UTC, `Z`."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    return format_time(dt.datetime.fromtimestamp(nanoseconds / 1e9, dt.timezone.utc))
