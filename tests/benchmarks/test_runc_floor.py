"""The burst's floor: how soon the p99 pod of a burst could be Ready if only runc ran."""

from __future__ import annotations

import os
import shutil

import pytest

from benchmarks.comparisons import comparisons
from benchmarks.kubelet.runc_floor import floor_row, p99_floor_s, runc_cpu_ms


@pytest.mark.unit
@pytest.mark.parametrize(("pods", "cpu_ms", "cores", "span_s", "floor_s"), [
    (108, 30.0, 2, 0.0, 107 * 0.030 / 2),  # nearest rank: the 107th of 108
    (110, 30.0, 2, 0.0, 109 * 0.030 / 2),
    (108, 30.0, 2, 0.5, 107 * 0.030 / 2 - 0.5),  # posted over 0.5 s: that much less
    (108, 30.0, 2, 5.0, 0.0),  # posted slower than runc runs: no floor
    (100, 10.0, 1, 0.0, 99 * 0.010),
    (1, 40.0, 4, 0.0, 0.040 / 4),
    (0, 30.0, 2, 0.0, 0.0),
    (10, 30.0, 0, 0.0, 0.0),
])
def test_the_p99_pod_waits_for_the_runc_runs_before_it(pods: int, cpu_ms: float, cores: int,
                                                         span_s: float, floor_s: float) -> None:
    assert p99_floor_s(pods, cpu_ms, cores, span_s) == pytest.approx(floor_s)


@pytest.mark.unit
def test_the_burst_p99_is_compared_with_the_floor_of_the_same_run() -> None:
    rows = [{"runtime": "nodelab", "phase": "burst", "n": 108, "pods_on_node": 110,
             "p50_s": 20.0, "p99_s": 30.0, "max_s": 31.0},
            floor_row(108, 30.0, 2, 0.25)]
    floor = [c for c in comparisons("pod-startup", rows) if "floor" in c.metric]
    assert len(floor) == 1
    assert floor[0].nodelab == pytest.approx(30000.0)
    assert floor[0].reference == pytest.approx(107 * 30.0 / 2 - 250.0)
    assert floor[0].ratio == pytest.approx(30000.0 / (107 * 15.0 - 250.0))


@pytest.mark.unit
def test_no_floor_row_no_floor_comparison() -> None:
    rows = [{"runtime": "nodelab", "phase": "burst", "n": 5, "pods_on_node": 6,
             "p50_s": 1.0, "p99_s": 2.0, "max_s": 2.0}]
    assert not [c for c in comparisons("pod-startup", rows) if "floor" in c.metric]


@pytest.mark.privileged
@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runc") is None,
                    reason="needs root and runc: it runs real containers")
def test_runc_spends_cpu_on_every_container_and_leaves_none_behind() -> None:
    before = set(os.listdir("/run/runc")) if os.path.isdir("/run/runc") else set()
    cpu = runc_cpu_ms(containers=3)
    after = set(os.listdir("/run/runc")) if os.path.isdir("/run/runc") else set()
    assert cpu > 0
    assert after == before


@pytest.mark.unit
def test_the_burst_p99_is_compared_with_containerds_own_cpu_in_the_same_run() -> None:
    rows = [{"runtime": "nodelab", "phase": "burst", "n": 108, "pods_on_node": 110,
             "p50_s": 20.0, "p99_s": 30.0, "max_s": 31.0},
            {"runtime": "containerd", "phase": "burst", "n": 108, "pods_on_node": 110,
             "p50_s": 50.0, "p99_s": 60.0, "max_s": 61.0, "cpu_ms_per_pod": {"runtime": 100.0}},
            floor_row(108, 30.0, 2, 0.5)]
    [floor] = [c for c in comparisons("pod-startup", rows) if "containerd's floor" in c.metric]
    assert floor.reference == pytest.approx((107 * 0.100 / 2 - 0.5) * 1000.0)
