"""The one time module (nodelab/kube/times.py): metav1.Time, MicroTime and CRI nanoseconds."""

from __future__ import annotations

import datetime as dt

import pytest

from nodelab.kube.times import format_time, from_nanoseconds, micro_time, now, parse_time

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
