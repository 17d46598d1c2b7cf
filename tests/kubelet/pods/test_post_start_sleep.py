"""A `sleep` postStart hook holds the start for its seconds (upstream's PodLifecycleSleepAction);
it touches nothing in the runtime."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest

from nodelab.kubelet.pods.hooks import run_post_start

pytestmark = pytest.mark.unit


def test_a_sleep_post_start_hook_waits_then_succeeds() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"terminationGracePeriodSeconds": 5}}
    container = {"name": "c", "lifecycle": {"postStart": {"sleep": {"seconds": 1}}}}
    started = time.monotonic()
    assert run_post_start(cast(Any, None), lambda *_: None, pod, container, "id", "") == (
        True, "")
    assert time.monotonic() - started >= 1
