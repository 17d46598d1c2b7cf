"""`metav1.Time` as text: RFC 3339, UTC, to the second, with a `Z` (`2026-01-02T03:04:05Z`)."""

from __future__ import annotations

import datetime as dt

TIME_LAYOUT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(when: dt.datetime) -> str:
    """`when` as a `Time`: second precision, UTC, `Z`."""
    return when.astimezone(dt.timezone.utc).strftime(TIME_LAYOUT)


def from_epoch(seconds: float) -> str:
    """A Unix time in seconds as a `Time`."""
    return format_time(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))
