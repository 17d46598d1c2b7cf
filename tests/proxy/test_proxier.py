"""The proxier's bookkeeping: failures are recorded and force the next sync to be full."""

from __future__ import annotations

import pytest

from nodelab.errors import NodelabError
from nodelab.proxy import MODES, Proxier, ProxyMetrics, SyncRecord, render_plan
from tests.proxy.builders import NODE, endpoints, service, state

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("mode", MODES)
def test_failed_apply_is_recorded_and_forces_a_full_sync(mode: str) -> None:
    proxier = Proxier(NODE, mode, "nl0000-missing")  # no such namespace: every apply fails
    with pytest.raises(NodelabError, match="kube-proxy .* rules in nl0000-missing"):
        proxier.sync(state(service("web", "10.96.0.10")))
    assert proxier.need_full_sync and proxier.plan is None
    assert proxier.metrics.failures == 1 and proxier.metrics.last is not None
    assert not proxier.metrics.last.ok and proxier.metrics.last_full is None


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(NodelabError, match="unknown kube-proxy mode 'ipvs'"):
        Proxier(NODE, "ipvs")
    with pytest.raises(NodelabError, match="use one of iptables, nftables"):
        render_plan("ipvs", state(), NODE)


def test_render_plan_of_either_mode_is_pure() -> None:
    st = state(service("web", "10.96.0.10"), endpoints("web", "10.244.1.2"))
    assert "KUBE-SVC-" in render_plan("iptables", st, NODE).payload  # type: ignore[union-attr]
    assert "numgen random" in render_plan("nftables", st, NODE).script  # type: ignore[union-attr]


def record(full: bool, ok: bool = True) -> SyncRecord:
    return SyncRecord("iptables", full, ok, 0.0, 0.1, 0.05, 0.05, 1, 1, 10, 10, 1, 0, 100)


def test_metrics_keep_last_full_and_last_partial() -> None:
    metrics = ProxyMetrics()
    metrics.record(record(True))
    metrics.record(record(False))
    metrics.record(record(False, ok=False))
    assert metrics.syncs == 3 and metrics.failures == 1
    assert metrics.last_full is not None and metrics.last_full.full
    assert metrics.last_partial is not None and metrics.last_partial.ok
    assert metrics.last is not None and not metrics.last.ok
    assert metrics.to_dict()["last_partial"]["full"] is False
