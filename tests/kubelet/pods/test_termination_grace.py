"""The grace a pod's containers get when the kubelet kills them: the pod's, or, for a pod
gone from the API, the one written on each container (upstream's killContainer restores it
from the container's annotations, at least 1 s as the pod workers' effective grace)."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubelet.pods.runtime_calls import written_grace
from nodelab.kubelet.pods.status import Instance
from nodelab.kubelet.pods.termination import kill_pod

pytestmark = pytest.mark.unit


class Runtime:
    """Running containers with the graces written on them; records each StopContainer."""

    def __init__(self, *graces: int | None) -> None:
        self.instances = [Instance(f"c{i}", f"app{i}", 0, "running", grace=g)
                          for i, g in enumerate(graces)]
        self.stops: list[tuple[str, int]] = []

    def containers(self, uid: str) -> list[Instance]:
        return self.instances

    def stop_container(self, container_id: str, timeout: int) -> None:
        self.stops.append((container_id, timeout))

    def sandboxes(self, uid: str) -> list[Any]:
        return []


def _no_events(*_args: Any) -> None:
    return None


@pytest.mark.parametrize(("graces", "stops"), [
    ((1,), [("c0", 1)]),
    ((5, 0), [("c0", 5), ("c1", 1)]),  # 0 raised to the pod workers' minimum of 1 s
    ((None,), [("c0", 30)]),  # not written by a kubelet: the API's default
])
def test_a_pod_gone_from_the_api_gets_the_grace_written_on_its_containers(
        graces: tuple[int | None, ...], stops: list[tuple[str, int]]) -> None:
    runtime = Runtime(*graces)
    kill_pod(runtime, _no_events, "u1", None, None)  # type: ignore[arg-type]
    assert runtime.stops == stops


def test_a_known_grace_wins_over_the_written_one() -> None:
    runtime = Runtime(30)
    kill_pod(runtime, _no_events, "u1", None, 0)  # type: ignore[arg-type]
    assert runtime.stops == [("c0", 0)]


@pytest.mark.parametrize(("value", "grace"), [("1", 1), ("30", 30), (None, None), ("x", None)])
def test_the_written_grace_is_read_back(value: str | None, grace: int | None) -> None:
    assert written_grace(value) == grace
