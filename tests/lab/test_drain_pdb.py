"""The docs' "Safely Drain a Node" with a PodDisruptionBudget, on a real 2-node lab through
real kubectl: a Deployment of 3 on node1 and a budget of minAvailable 2. `kubectl drain node1`
evicts one pod, is refused (429) for the others and retries every 5 s until a replacement is
Ready on node2, and finishes, never leaving fewer than 2 healthy; a drain whose replacements
cannot run anywhere stops at its `--timeout` with kubectl's "global timeout reached"."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]

REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture(scope="module")
def lab2() -> Iterator[Lab]:
    name = unique_lab_name()
    try:
        yield Lab.up(name, 2, progress=lambda _m: None)
    finally:
        take_down_lab(name)


def drain(lab: Lab, node: str, timeout: str) -> subprocess.CompletedProcess[str]:
    # --delete-emptydir-data: metrics-server keeps /tmp in an emptyDir
    return subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "drain", node,
                           "--ignore-daemonsets", "--delete-emptydir-data",
                           f"--timeout={timeout}"], capture_output=True, text=True, timeout=300)


def web_pods(lab: Lab) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = kubectl_json(lab, "get", "pods", "-l", "app=web")["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def healthy(lab: Lab) -> int:
    """Web pods Ready and not being deleted: what the budget protects."""
    return len([p for p in ready_pods(lab, "app=web")
                if not p["metadata"].get("deletionTimestamp")])


def budget(lab: Lab) -> dict[str, Any]:
    status: dict[str, Any] = kubectl_json(lab, "get", "pdb", "web")["status"]
    return status


def test_drain_waits_for_the_budget(lab2: Lab) -> None:
    kubectl(lab2, "cordon", "node2")
    kubectl(lab2, "apply", "-f", "-", input=f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: {lab2.images.ref("busybox")}, command: [sleep, "3600"]}}]
""")
    kubectl(lab2, "rollout", "status", "deployment/web", "--timeout=120s")
    assert {p["spec"]["nodeName"] for p in web_pods(lab2)} == {"node1"}
    kubectl(lab2, "create", "pdb", "web", "--selector=app=web", "--min-available=2")
    eventually(lambda: budget(lab2).get("disruptionsAllowed") == 1)
    row = kubectl(lab2, "get", "pdb", "web", "--no-headers").split()
    assert row[:4] == ["web", "2", "N/A", "1"]
    kubectl(lab2, "uncordon", "node2")
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # how many stay healthy while the drain runs
        while not done.wait(0.5):
            seen.append(healthy(lab2))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        try:
            drained = drain(lab2, "node1", "240s")
        finally:
            done.set()
            watcher.join()
        assert seen and min(seen) >= 2, seen  # never below minAvailable
        assert drained.returncode == 0, drained.stderr
        assert 'error when evicting pods/"web-' in drained.stderr
        assert f'-n "default" (will retry after 5s): {REFUSED}' in drained.stderr
        assert "node/node1 drained" in drained.stdout
        assert drained.stdout.count("evicted") >= 3
        pods = eventually(lambda: (p := ready_pods(lab2, "app=web")) and len(p) == 3 and p)
        assert {p["spec"]["nodeName"] for p in pods} == {"node2"}
        status = eventually(lambda: (s := budget(lab2)).get("currentHealthy") == 3 and s)
        assert (status["desiredHealthy"], status["expectedPods"],
                status["disruptionsAllowed"]) == (2, 3, 1)

        # the replacements cannot go anywhere: the drain stops at its timeout
        kubectl(lab2, "cordon", "node1")
        stuck = drain(lab2, "node2", "25s")
        assert stuck.returncode != 0
        assert REFUSED in stuck.stderr
        assert "global timeout reached: 25s" in stuck.stderr
        assert 'unable to drain node "node2"' in stuck.stderr
        assert len([p for p in web_pods(lab2) if p["status"].get("phase") == "Pending"]) == 1
        assert budget(lab2)["disruptionsAllowed"] == 0
    finally:
        kubectl(lab2, "uncordon", "node1", "node2")
    eventually(lambda: len(ready_pods(lab2, "app=web")) == 3, timeout=120)
    kubectl(lab2, "delete", "pdb", "web")
    kubectl(lab2, "delete", "deployment", "web")
