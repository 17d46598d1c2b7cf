"""The cache of review answers (nodelab/kubewire/expiring.py): each entry lives its own time,
a time to live of 0 caches nothing, and the cache stays bounded."""

from __future__ import annotations

import pytest

from nodelab.kubewire.expiring import ExpiringCache

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_its_own_time() -> None:
    clock = Clock()
    cache: ExpiringCache[bool] = ExpiringCache(clock)
    cache.put("allowed", True, 300.0)
    cache.put("denied", False, 30.0)
    clock.now += 29.9
    assert (cache.get("allowed"), cache.get("denied")) == ((True, True), (True, False))
    clock.now += 0.1
    assert (cache.get("allowed"), cache.get("denied")) == ((True, True), (False, None))
    assert cache.get("never") == (False, None)


@pytest.mark.parametrize("ttl", [0.0, -1.0])
def test_no_time_to_live_caches_nothing(ttl: float) -> None:
    cache: ExpiringCache[str] = ExpiringCache(Clock())
    cache.put("k", "v", ttl)
    assert cache.get("k") == (False, None)


def test_past_its_limit_it_drops_the_expired_then_everything() -> None:
    clock = Clock()
    cache: ExpiringCache[int] = ExpiringCache(clock, limit=3)
    for i in range(4):
        cache.put(i, i, 10.0 if i < 2 else 100.0)
    clock.now += 50.0
    cache.put("new", 4, 10.0)  # 0 and 1 expired: dropped, 2 and 3 kept
    assert [cache.get(k) for k in (2, 3, "new")] == [(True, 2), (True, 3), (True, 4)]
    for i in range(5, 8):
        cache.put(i, i, 100.0)
    cache.put("last", 8, 10.0)  # nothing expired: everything dropped
    assert cache.get(2) == (False, None)
    assert cache.get("last") == (True, 8)
