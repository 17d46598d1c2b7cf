"""The grace period of a kill after a failed probe (upstream: the probe's own, else the pod's)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.probes.prober import kill_grace

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("pod_grace", "probe", "expected"), [
    (None, {}, 30),
    (10, {}, 10),
    (10, {"terminationGracePeriodSeconds": 2}, 2),
    (None, {"terminationGracePeriodSeconds": 0}, 0),
])
def test_a_probes_own_grace_period_wins(pod_grace: int | None, probe: dict[str, Any],
                                        expected: int) -> None:
    spec: dict[str, Any] = {} if pod_grace is None else {"terminationGracePeriodSeconds":
                                                         pod_grace}
    assert kill_grace({"spec": spec}, probe) == expected
