"""The kubelet's service account tokens: asked for again only as upstream's token manager does."""

from __future__ import annotations

import pytest

from nodelab.kubelet.pods.volumes.tokens import HeldToken, TokenCache, TokenKey, requires_refresh

pytestmark = pytest.mark.unit
HOUR = 3600.0


@pytest.mark.parametrize(("issued", "expires", "now", "refresh"), [
    (0.0, HOUR, 0.0, False),
    (0.0, HOUR, 0.79 * HOUR, False),
    (0.0, HOUR, 0.8 * HOUR, True),  # 80% of its lifetime
    (0.0, HOUR, 2 * HOUR, True),
    (0.0, 48 * HOUR, 23 * HOUR, False),
    (0.0, 48 * HOUR, 24 * HOUR, True),  # a day old, whatever its lifetime
], ids=["new", "before-80%", "at-80%", "expired", "long-lived", "a-day-old"])
def test_requires_refresh(issued: float, expires: float, now: float, refresh: bool) -> None:
    assert requires_refresh(HeldToken("t", issued, expires), now) is refresh


def test_the_cache_asks_once_per_key_until_a_refresh_is_due() -> None:
    now = [0.0]
    asked: list[TokenKey] = []

    def fetch(key: TokenKey) -> HeldToken:
        asked.append(key)
        return HeldToken(f"token-{len(asked)}", now[0], now[0] + HOUR)

    cache = TokenCache(fetch, lambda: now[0])
    web = TokenKey("default", "default", (), 3600, "web", "uid-1")
    other_audience = TokenKey("default", "default", ("vault",), 3600, "web", "uid-1")
    assert cache.get(web) == cache.get(web) == "token-1"
    assert cache.get(other_audience) == "token-2"
    now[0] = 0.9 * HOUR
    assert cache.get(web) == "token-3"
    cache.forget("uid-1")
    assert cache.get(web) == "token-4" and len(asked) == 4
