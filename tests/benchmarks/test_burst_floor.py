"""The burst's floor: the shortest p99 the machine's cores allow for the CPU a pod costs."""

from __future__ import annotations

import pytest

from benchmarks.comparisons import comparisons
from benchmarks.kubelet.burst_floor import p99_floor_s

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("pods", "cpu_ms", "cores", "span_s", "floor_s"), [
    (108, 30.0, 2, 0.0, 107 * 0.030 / 2),  # nearest rank: the 107th of 108
    (110, 30.0, 2, 0.0, 109 * 0.030 / 2),
    (108, 30.0, 2, 0.5, 107 * 0.030 / 2 - 0.5),  # posted over 0.5 s: that much less
    (108, 30.0, 2, 5.0, 0.0),  # posted slower than the work: no floor
    (100, 10.0, 1, 0.0, 99 * 0.010),
    (1, 40.0, 4, 0.0, 0.040 / 4),
    (0, 30.0, 2, 0.0, 0.0),
    (10, 30.0, 0, 0.0, 0.0),
])
def test_the_p99_pod_waits_for_the_work_of_the_pods_before_it(
        pods: int, cpu_ms: float, cores: int, span_s: float, floor_s: float) -> None:
    assert p99_floor_s(pods, cpu_ms, cores, span_s) == pytest.approx(floor_s)


def burst(runtime: str, **extra: object) -> dict[str, object]:
    return {"runtime": runtime, "phase": "burst", "n": 108, "pods_on_node": 110,
            "p50_s": 20.0, "p99_s": 30.0, "max_s": 31.0, **extra}


def test_the_burst_p99_is_compared_with_the_floors_of_the_same_run() -> None:
    rows = [burst("nodelab", cores=2, post_span_s=0.5,
                  cpu_ms_per_pod={"runtime": 70.0, "kubelet": 30.0},
                  control_plane_cpu_ms_per_pod={"controlplane": 40.0, "controllers": 10.0}),
            burst("containerd", cores=2, post_span_s=0.7,
                  cpu_ms_per_pod={"runtime": 100.0, "kubelet": 50.0})]
    floors = {c.metric: c for c in comparisons("pod-startup", rows) if "floor" in c.metric}
    own = floors["create -> Ready p99 vs nodelab's own floor"]
    assert own.nodelab == pytest.approx(30000.0)
    assert own.reference == pytest.approx((107 * 0.150 / 2 - 0.5) * 1000.0)
    theirs = floors["create -> Ready p99 vs containerd's floor"]
    assert theirs.reference == pytest.approx((107 * 0.100 / 2 - 0.5) * 1000.0)


def test_rows_of_older_runs_have_no_floor() -> None:
    rows = [burst("nodelab", cpu_ms_per_pod={"runtime": 70.0})]
    assert not [c for c in comparisons("pod-startup", rows) if "floor" in c.metric]
