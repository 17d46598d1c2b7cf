"""A pod's readiness as upstream's IsPodReady: its first Ready condition decides."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kube.objects import pod_ready

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("status", "ready"), [
    ({}, False),
    ({"conditions": None}, False),
    ({"conditions": [{"type": "PodScheduled", "status": "True"}]}, False),
    ({"conditions": [{"type": "Ready", "status": "True"}]}, True),
    ({"conditions": [{"type": "Ready", "status": "False"}]}, False),
    ({"conditions": [{"type": "Ready", "status": "Unknown"}]}, False),
    # the first Ready condition decides, as GetPodCondition returns the first
    ({"conditions": [{"type": "Ready", "status": "False"},
                     {"type": "Ready", "status": "True"}]}, False),
])
def test_pod_ready(status: dict[str, Any], ready: bool) -> None:
    assert pod_ready({"status": status}) is ready
    assert pod_ready({}) is False
