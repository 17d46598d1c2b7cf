"""The STATUS and READINESS GATES cells of `kubectl get pods` (upstream's printPod), as a table."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.http.printers.pod_status import pod_status, readiness_gates

pytestmark = pytest.mark.unit

DELETING = {"deletionTimestamp": "2026-01-01T00:00:00Z"}


def _pod(status: dict[str, Any], init: int = 0, meta: dict[str, Any] | None = None) -> Any:
    return {"metadata": {"name": "p", **(meta or {})},
            "spec": {"containers": [{"name": "c"}],
                     "initContainers": [{"name": f"i{n}"} for n in range(init)]},
            "status": status}


def _state(**state: Any) -> dict[str, Any]:
    return {"state": state}


@pytest.mark.parametrize(("pod", "shown"), [
    (_pod({"phase": "Running", "containerStatuses": [_state(running={})]}), "Running"),
    (_pod({}), "Unknown"),
    (_pod({"phase": "Failed", "reason": "Evicted"}), "Evicted"),
    (_pod({"phase": "Pending",
           "containerStatuses": [_state(waiting={"reason": "ImagePullBackOff"})]}),
     "ImagePullBackOff"),
    (_pod({"phase": "Succeeded",
           "containerStatuses": [_state(terminated={"reason": "Completed", "exitCode": 0})]}),
     "Completed"),
    (_pod({"phase": "Pending", "initContainerStatuses": [
        _state(terminated={"exitCode": 0}), _state(running={})]}, init=2), "Init:1/2"),
    (_pod({"phase": "Pending", "initContainerStatuses": [
        _state(waiting={"reason": "PodInitializing"})]}, init=1), "Init:0/1"),
    (_pod({"phase": "Pending", "initContainerStatuses": [
        _state(waiting={"reason": "CrashLoopBackOff"})]}, init=1), "Init:CrashLoopBackOff"),
    (_pod({"phase": "Pending", "initContainerStatuses": [
        _state(terminated={"reason": "Error", "exitCode": 1})]}, init=1), "Init:Error"),
    (_pod({"phase": "Pending", "initContainerStatuses": [
        _state(terminated={"exitCode": 3})]}, init=1), "Init:ExitCode:3"),
    (_pod({"phase": "Running", "containerStatuses": [_state(running={})]}, meta=DELETING),
     "Terminating"),
    (_pod({"phase": "Pending", "initContainerStatuses": [_state(running={})]}, init=1,
          meta=DELETING), "Terminating"),
])
def test_the_status_cell(pod: Any, shown: str) -> None:
    assert pod_status(pod) == shown


@pytest.mark.parametrize(("gates", "conditions", "shown"), [
    ([], [], "<none>"),
    ([{"conditionType": "a"}, {"conditionType": "b"}],
     [{"type": "a", "status": "True"}, {"type": "b", "status": "False"}], "1/2"),
    ([{"conditionType": "a"}], [{"type": "Ready", "status": "True"}], "0/1"),
])
def test_the_readiness_gates_cell(gates: list[Any], conditions: list[Any], shown: str) -> None:
    assert readiness_gates(gates, conditions) == shown
