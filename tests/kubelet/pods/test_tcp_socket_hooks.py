"""A `tcpSocket` lifecycle handler is kept in the API for compatibility and never run: upstream's
kubelet fails the hook ("Cannot run handler: invalid handler"), and so does nodelab's."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest

from nodelab.kubelet.pods.hooks import run_post_start, run_pre_stop
from nodelab.kubelet.pods.runtime_calls import PodRuntime

pytestmark = pytest.mark.unit
POD: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {
    "terminationGracePeriodSeconds": 5, "containers": [
        {"name": "c", "lifecycle": {"postStart": {"tcpSocket": {"port": 80}},
                                    "preStop": {"tcpSocket": {"port": 80}}}}]}}


class StopOnly:
    """The one runtime call a failed postStart makes: stopping the container."""

    def __init__(self) -> None:
        self.stopped: list[str] = []

    def stop_container(self, container_id: str, grace: int) -> None:
        self.stopped.append(container_id)


def test_a_tcp_socket_post_start_hook_fails_and_kills_the_container() -> None:
    events: list[tuple[str, str]] = []
    runtime = StopOnly()
    ok, message = run_post_start(
        cast(PodRuntime, runtime), lambda _p, reason, msg, _t: events.append((reason, msg)),
        POD, POD["spec"]["containers"][0], "cid", "10.244.0.5")
    assert not ok and message.startswith("Cannot run handler: invalid handler")
    assert events == [("FailedPostStartHook", message)]
    assert runtime.stopped == ["cid"]


def test_a_tcp_socket_pre_stop_hook_is_reported_not_skipped() -> None:
    events: list[tuple[str, str]] = []
    instance: Any = type("I", (), {"name": "c", "id": "cid"})()
    run_pre_stop(None, lambda _p, reason, msg, _t: events.append((reason, msg)),
                 POD, instance, time.monotonic() + 5)
    assert [reason for reason, _ in events] == ["FailedPreStopHook"]
    assert events[0][1].startswith("Cannot run handler: invalid handler")

