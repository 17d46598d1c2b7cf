"""The kubelet waits for the pod network as upstream's syncPod does (NetworkNotReady)."""

from __future__ import annotations

import pytest

from nodelab.kubelet.cri import CRIError, RuntimeCondition
from nodelab.kubelet.pods.network_gate import NetworkState, network_error, network_wait

pytestmark = pytest.mark.unit

RUNTIME_OK = RuntimeCondition("RuntimeReady", True)
NET_OK = RuntimeCondition("NetworkReady", True)
NET_DOWN = RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady",
                            "Network plugin returns error: cni plugin not initialized")
UPSTREAM = ("container runtime network not ready: NetworkReady=false "
            "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not "
            "initialized")


@pytest.mark.parametrize("conditions, error", [
    ([RUNTIME_OK, NET_OK], None),
    ([RUNTIME_OK, NET_DOWN], UPSTREAM),
    # only the network's error: a runtime that is not ready is the node's Ready, not this gate
    ([RuntimeCondition("RuntimeReady", False), NET_OK], None),
    ([RUNTIME_OK], "container runtime network not ready: NetworkReady=false reason: message:"),
])
def test_the_network_error_is_worded_as_upstream(conditions: list[RuntimeCondition],
                                                  error: str | None) -> None:
    assert network_error(conditions) == error


@pytest.mark.parametrize("host_network, error, wait", [
    (False, None, None),
    (False, UPSTREAM, f"network is not ready: {UPSTREAM}"),
    (True, UPSTREAM, None),  # a hostNetwork pod needs no pod network
])
def test_which_pods_wait(host_network: bool, error: str | None, wait: str | None) -> None:
    pod = {"spec": {"hostNetwork": host_network, "containers": []}}
    assert network_wait(pod, error) == wait


def test_the_runtime_is_asked_at_most_once_a_second_and_a_failure_keeps_the_last_answer() -> None:
    answers: list[list[RuntimeCondition] | Exception] = [[NET_DOWN], CRIError("down"), [NET_OK]]
    asked = []
    now = [0.0]

    def status() -> list[RuntimeCondition]:
        asked.append(now[0])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    state = NetworkState(status, clock=lambda: now[0])
    assert state.error() == UPSTREAM
    now[0] = 0.5
    assert state.error() == UPSTREAM and asked == [0.0]  # cached
    now[0] = 1.0
    assert state.error() == UPSTREAM and asked == [0.0, 1.0]  # the runtime failed: kept
    now[0] = 2.0
    assert state.error() is None
