"""The one time module (nodelab/kubewire/times.py): metav1.Time, MicroTime and CRI nanoseconds."""

from __future__ import annotations

import datetime as dt

import pytest

from nodelab.kubewire.times import (
    format_time,
    from_nanoseconds,
    human_duration,
    micro_time,
    now,
    parse_time,
)

pytestmark = pytest.mark.unit

MOMENT = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc)


def test_time_is_seconds_in_utc_with_z() -> None:
    assert format_time(MOMENT) == "2026-01-02T03:04:05Z"
    plus_two = MOMENT.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert format_time(plus_two) == "2026-01-02T03:04:05Z"


def test_micro_time_keeps_microseconds() -> None:
    assert micro_time(MOMENT) == "2026-01-02T03:04:05.678901Z"
    assert parse_time(micro_time()) is not None


def test_parse_time_round_trips_and_empty_is_none() -> None:
    assert parse_time("2026-01-02T03:04:05Z") == MOMENT.replace(microsecond=0)
    assert parse_time("") is None
    assert parse_time(None) is None


def test_now_is_a_time() -> None:
    parsed = parse_time(now())
    assert parsed is not None and parsed.microsecond == 0


def test_cri_nanoseconds() -> None:
    assert from_nanoseconds(0) == ""
    assert from_nanoseconds(int(MOMENT.timestamp()) * 10**9) == "2026-01-02T03:04:05Z"


DAY, YEAR = 24 * 3600, 365 * 24 * 3600


@pytest.mark.parametrize(("seconds", "text"), [  # upstream's TestHumanDuration(Boundaries)
    (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * 60, "70m"), (47 * 3600, "47h"),
    (49 * 3600, "2d1h"), ((8 * 24 + 2) * 3600, "8d"), (367 * DAY, "367d"),
    (2 * YEAR + 25 * 3600, "2y1d"), (8 * YEAR + 2 * 3600, "8y"),
    (-2, "<invalid>"), (-2 + 1e-9, "0s"), (0, "0s"), (0.999, "0s"), (119.999, "119s"),
    (120, "2m"), (121, "2m1s"), (599.999, "9m59s"), (600, "10m"), (601, "10m"),
    (3 * 3600 - 0.001, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"),
    (8 * 3600 - 0.001, "7h59m"), (8 * 3600, "8h"), (8 * 3600 + 59 * 60, "8h"),
    (2 * DAY - 0.001, "47h"), (2 * DAY, "2d"), (2 * DAY + 3600, "2d1h"),
    (8 * DAY - 0.001, "7d23h"), (8 * DAY, "8d"), (8 * DAY + 23 * 3600, "8d"),
    (2 * YEAR - 0.001, "729d"), (2 * YEAR, "2y"), (2 * YEAR + 23 * 3600, "2y"),
    (2 * YEAR + DAY - 0.001, "2y"), (2 * YEAR + DAY, "2y1d"), (3 * YEAR, "3y"),
    (7 * YEAR, "7y"), (8 * YEAR - 0.001, "7y364d"), (8 * YEAR, "8y"),
    (8 * YEAR + 364 * DAY, "8y"), (9 * YEAR, "9y"),
])
def test_human_duration_is_kubectls(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
