"""The PLEG's pure parts: which pods changed between two relists, and when a pod is settled
enough for its worker to wait for events instead of polling every second."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.pleg import changed_pods, settled
from nodelab.kubelet.pods.status import ContainerView, Instance, PodView

pytestmark = pytest.mark.unit


def _pod(**container: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "busybox", **container}]}}


def _view(state: str = "running", ready: bool = True, sandbox: bool = True,
          exit_code: int = 0) -> PodView:
    view = PodView(sandbox_ready=sandbox)
    view.containers["c"] = ContainerView(
        latest=Instance("c1", "c", 0, state, exit_code=exit_code), ready=ready)
    return view


def _with(pod: dict[str, Any], policy: str = "", phase: str = "") -> dict[str, Any]:
    spec = {**pod["spec"], **({"restartPolicy": policy} if policy else {})}
    return {**pod, "spec": spec, **({"status": {"phase": phase}} if phase else {})}


def test_changed_pods_are_those_whose_sandboxes_or_containers_differ() -> None:
    before = {"a": frozenset({("s1", 0), ("c1", 1)}), "b": frozenset({("s2", 0)})}
    after = {"a": frozenset({("s1", 0), ("c1", 2)}), "b": frozenset({("s2", 0)}),
             "c": frozenset({("s3", 0)})}
    assert changed_pods(before, after) == {"a", "c"}
    assert changed_pods(after, {"b": after["b"]}) == {"a", "c"}  # gone from the runtime


def test_a_running_ready_pod_without_probes_is_settled() -> None:
    assert settled(_pod(), _view())


@pytest.mark.parametrize("pod, view", [
    (_pod(readinessProbe={"exec": {"command": ["true"]}}), _view()),
    (_pod(livenessProbe={"tcpSocket": {"port": 80}}), _view()),
    ({**_pod(), "spec": {**_pod()["spec"], "activeDeadlineSeconds": 5}}, _view()),
    (_pod(), _view(state="exited")),  # a restart (or its backoff) is pending
    (_pod(), _view(ready=False)),
    (_pod(), _view(sandbox=False)),
    (_pod(), PodView(sandbox_ready=True)),  # the container is not created yet
    (_with(_pod(), "OnFailure"), _view(state="exited", ready=False, exit_code=1)),
    (_with(_pod(), "Always"), _view(state="exited", ready=False, exit_code=0)),
])
def test_anything_left_to_poll_keeps_the_one_second_resync(pod: dict[str, Any],
                                                           view: PodView) -> None:
    assert not settled(pod, view)


@pytest.mark.parametrize("pod, view", [
    (_with(_pod(), phase="Succeeded"), PodView()),  # the worker returns before any CRI call
    (_with(_pod(readinessProbe={"exec": {"command": ["true"]}}), phase="Failed"), PodView()),
    (_with(_pod(), "Never"), _view(state="exited", ready=False, exit_code=1)),
    (_with(_pod(), "OnFailure"), _view(state="exited", ready=False, exit_code=0)),
])
def test_finished_pods_and_containers_that_will_not_restart_are_settled(
        pod: dict[str, Any], view: PodView) -> None:
    assert settled(pod, view)
