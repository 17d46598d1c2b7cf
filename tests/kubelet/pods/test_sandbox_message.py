"""The PodSandboxConfig the kubelet sends is the plan's, field for field, parsed once per
distinct config: one sync hands the same config to RunPodSandbox, PullImage and each
CreateContainer, and ParseDict of the CRI configs was 5-18 % of the kubelet's interpreter
time in the 110-pod burst (docs/performance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from nodelab.cri import api_pb2 as cri
from nodelab.kubelet.pods import runtime_calls
from nodelab.kubelet.pods.cri_plan import sandbox_config
from nodelab.kubelet.pods.runtime_calls import sandbox_message

pytestmark = pytest.mark.unit


def _pod(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "team", "uid": f"uid-{name}",
                         "labels": {"app": "web", "tier": "front"},
                         "annotations": {"note": "x"}},
            "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [
                {"containerPort": 80, "hostPort": 8080}]}], **spec}}


@pytest.mark.parametrize("pod", [_pod("a"), _pod("b", hostNetwork=True),
                                 _pod("c", securityContext={"runAsUser": 1000})])
def test_the_message_is_the_plans(pod: dict[str, Any]) -> None:
    config = sandbox_config(pod, 2, Path("/logs"))
    assert sandbox_message(config) == json_format.ParseDict(config, cri.PodSandboxConfig())


def test_a_config_is_parsed_once_and_each_caller_gets_its_own_message() -> None:
    config = sandbox_config(_pod("once"), 0, Path("/logs"))
    parsed = runtime_calls._sandbox_config_bytes.cache_info().misses
    first = sandbox_message(config)
    first.hostname = "changed by a caller"
    again = sandbox_message(dict(reversed(list(config.items()))))  # same config, other order
    assert runtime_calls._sandbox_config_bytes.cache_info().misses == parsed + 1
    assert again.hostname == "once"
    other = sandbox_message(sandbox_config(_pod("once"), 1, Path("/logs")))  # a new attempt
    assert other.metadata.attempt == 1
    assert runtime_calls._sandbox_config_bytes.cache_info().misses == parsed + 2
