"""The kubelet in a real lab whose CrashLoopBackOff is capped (`Lab.up(max_restart_backoff=2)`):
restarts spaced by the cap, a grpc readiness probe against a real grpc.health.v1 server in the
pod's network namespace, and a projected service-account token the API server accepts.

One small lab serves the module (the shared `cluster` of tests/lab cannot take the knob: its
tests re-run `Lab.up` without it). Pure parts (the CLI's duration flag, lab.json, the kubelet
config a lab writes) are tested without root.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nodelab.cli.up import restart_backoff
from nodelab.errors import NodelabError
from nodelab.kubelet.config import KubeletConfig
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab, take_down_lab
from nodelab.lab.node_daemons import kubelet_config_text
from tests.conftest import needs_root, unique_lab_name
from tests.lab.kube import kubectl, kubectl_json

CAP = 2.0  # seconds: the lab's crashLoopBackOff.maxContainerRestartPeriod
HEALTH_SERVER = Path(__file__).with_name("grpc_health_server.py")

# --- the knob, without root ------------------------------------------------------------------


def test_the_flag_takes_go_durations_and_rejects_the_rest() -> None:
    assert restart_backoff("10s") == 10.0
    assert restart_backoff("1m") == 60.0
    assert restart_backoff("1m30s") == 90.0
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration '10x'"):
        restart_backoff("10x")
    with pytest.raises(argparse.ArgumentTypeError, match="must be 1s to 300s"):
        restart_backoff("500ms")
    with pytest.raises(argparse.ArgumentTypeError, match="must be 1s to 300s"):
        restart_backoff("6m")


def test_lab_json_keeps_the_cap_and_old_files_still_load(tmp_path: Path) -> None:
    import ipaddress

    path = tmp_path / "lab.json"
    subnet = ipaddress.IPv4Network("172.29.9.0/24")
    LabDescription("k", subnet, 1, "iptables", 10.0).save(path)
    assert LabDescription.load(path) == LabDescription("k", subnet, 1, "iptables", 10.0)
    path.write_text(json.dumps({"name": "k", "subnet": str(subnet), "nodes": 1,
                                "proxy_mode": "nftables"}))  # written before the knob
    old = LabDescription.load(path)
    assert old is not None and old.max_restart_backoff is None


def test_the_kubelet_reads_the_cap_the_lab_writes(tmp_path: Path) -> None:
    config = tmp_path / "kubelet-config.yaml"
    config.write_text(kubelet_config_text("/nodelab/k/node1", 10.0))
    assert KubeletConfig.load(config).crash_loop_back_off_max == 10.0
    config.write_text(kubelet_config_text("/nodelab/k/node1", None))
    assert KubeletConfig.load(config).crash_loop_back_off_max == 300.0


# --- a real lab ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped() -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        yield Lab.up(name, 1, max_restart_backoff=CAP, progress=lambda _m: None)
    finally:
        take_down_lab(name)


def _container(lab: Lab, pod: str) -> dict[str, Any]:
    status = kubectl_json(lab, "get", "pod", pod)["status"]
    return dict((status.get("containerStatuses") or [{}])[0])


@needs_root
@pytest.mark.privileged
@pytest.mark.slow
def test_restarts_are_spaced_by_the_labs_cap(capped: Lab) -> None:
    assert "CrashLoopBackOff capped at 2s" in capped.status().render()
    with pytest.raises(NodelabError, match="restart backoff cap of 2s, not 300s"):
        Lab.up(capped.name, 1, progress=lambda _m: None)
    config = capped.paths.node("node1") / "kubelet-config.yaml"
    assert KubeletConfig.load(config).crash_loop_back_off_max == CAP

    image = capped.images.ref("busybox")
    kubectl(capped, "run", "crashy", f"--image={image}", "--", "sh", "-c", "exit 1")
    seen: list[tuple[float, int]] = []  # (when the count was first seen, restartCount)
    messages: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not seen or seen[-1][1] < 5):
        status = _container(capped, "crashy")
        count = int(status.get("restartCount", 0))
        if not seen or count > seen[-1][1]:
            seen.append((time.monotonic(), count))
        messages.add(((status.get("state") or {}).get("waiting") or {}).get("message", ""))
        time.sleep(0.2)
    kubectl(capped, "delete", "pod", "crashy", "--grace-period=1", "--wait=false")
    assert seen and seen[-1][1] >= 5, f"restarts seen: {seen}"
    # uncapped, restarts 2..5 would come 10 s, 20 s, 40 s and 80 s apart
    gaps = [later - earlier for (earlier, _), (later, _) in zip(seen[1:], seen[2:], strict=False)]
    assert max(gaps) < CAP + 4, f"gaps between restarts: {gaps}"
    assert any(m.startswith("back-off 2s restarting failed container=") for m in messages)
