"""The views write ages as kubectl's AGE column does (apimachinery's duration.HumanDuration)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nodelab.widgets.kube_time import age

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(("ago", "text"), [
    (timedelta(seconds=45), "45s"),
    (timedelta(seconds=119), "119s"),
    (timedelta(minutes=5), "5m"),  # kubectl writes no `0s`
    (timedelta(minutes=3, seconds=10), "3m10s"),
    (timedelta(minutes=70), "70m"),  # minutes up to 3 h
    (timedelta(hours=3), "3h"),
    (timedelta(hours=3, minutes=1), "3h1m"),
    (timedelta(hours=47), "47h"),
    (timedelta(hours=49), "2d1h"),  # days and hours up to 8 d
    (timedelta(days=8, hours=2), "8d"),
    (timedelta(days=730, hours=25), "2y1d"),
    (timedelta(seconds=-1), "0s"),  # clock skew up to 2 s
    (timedelta(seconds=-2), "<invalid>"),
])
def test_age_is_kubectls(ago: timedelta, text: str) -> None:
    assert age((AT - ago).strftime("%Y-%m-%dT%H:%M:%SZ"), AT) == text


@pytest.mark.parametrize("value", [None, "", "yesterday", 5])
def test_no_time_is_a_dash(value: object) -> None:
    assert age(value, AT) == "-"
