"""node-problem-detector on a real two-node lab (nodelab/lab/addons/node_problem_detector.py):
the DaemonSet runs a pod on every node, the nodes get upstream's default conditions, and a
real OOM kill (a pod over its memory limit) becomes an `OOMKilling` event on the node it
happened on, and only there (the nodes share the machine's kernel log; docs/addons.md).

Nothing is written to /dev/kmsg: the kernel itself logs the OOM kills these pods provoke.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import IS_ROOT, unique_lab_name
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow]
NPD = ("-n", "kube-system")
DEFAULTS = {"KernelDeadlock": "KernelHasNoDeadlock", "XfsShutdown": "XfsHasNotShutDown",
            "CperHardwareErrorFatal": "CperHardwareHasNoFatalError",
            "ReadonlyFilesystem": "FilesystemIsNotReadOnly"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if not IS_ROOT:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        lab = Lab.up(name, 2, progress=lambda _message: None)
        lab.enable_node_problem_detector()
        yield lab
    finally:
        take_down_lab(name)


def hog(lab: Lab, name: str, node: str) -> str:
    busybox = lab.images.ref("busybox")
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  restartPolicy: Never
  containers:
  - name: mem
    image: {busybox}
    command: [sh, -c, "sleep 1; head -c 200000000 /dev/zero | tail"]
    resources: {{limits: {{memory: 32Mi}}}}
"""


def oom_killed(lab: Lab, pod: str) -> dict[str, Any] | None:
    statuses = kubectl_json(lab, "get", "pod", pod)["status"].get("containerStatuses") or []
    terminated: dict[str, Any] = ((statuses[0].get("state") or {}).get("terminated")
                                  if statuses else None) or {}
    return terminated if terminated.get("reason") == "OOMKilled" else None


def oom_events(lab: Lab, node: str) -> list[dict[str, Any]]:
    events = kubectl_json(lab, "get", "events", "--field-selector",
                          f"involvedObject.kind=Node,involvedObject.name={node}")["items"]
    return [e for e in events if e["reason"] == "OOMKilling"]


def killed_pids(events: list[dict[str, Any]]) -> list[str]:
    return [m.group(1) for e in events
            if (m := re.search(r"Killed process (\d+) ", e["message"]))]


def test_the_daemonset_runs_a_detector_on_every_node(lab: Lab) -> None:
    header, row = kubectl(lab, *NPD, "get", "ds", "node-problem-detector").strip().split("\n")
    assert header.split()[:6] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE",
                                  "AVAILABLE"]
    assert row.split()[:6] == ["node-problem-detector", "2", "2", "2", "2", "2"]
    pods = kubectl_json(lab, *NPD, "get", "pods", "-l", "app=node-problem-detector")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node1", "node2"]
    assert {p["status"]["phase"] for p in pods} == {"Running"}


def test_nodes_get_upstreams_default_conditions(lab: Lab) -> None:
    def conditions() -> dict[str, dict[str, Any]] | None:
        found = {c["type"]: c for c in kubectl_json(lab, "get", "node", "node2")["status"][
            "conditions"]}
        return found if set(DEFAULTS) <= set(found) else None

    found = eventually(conditions, timeout=60)
    for kind, reason in DEFAULTS.items():
        assert (found[kind]["status"], found[kind]["reason"]) == ("False", reason)
    assert found["Ready"]["status"] == "True"  # the kubelet's own are untouched
    described = kubectl(lab, "describe", "node", "node2")
    assert re.search(r"KernelDeadlock\s+False\s.*KernelHasNoDeadlock\s+kernel has no deadlock",
                     described)
    assert re.search(r"ReadonlyFilesystem\s+False\s.*FilesystemIsNotReadOnly", described)


def test_an_oom_kill_is_an_event_on_its_node_only(lab: Lab) -> None:
    kubectl(lab, "apply", "-f", "-", input=hog(lab, "hog1", "node1"))
    eventually(lambda: oom_killed(lab, "hog1"), timeout=90)
    node1 = eventually(lambda: oom_events(lab, "node1"), timeout=60)
    for event in node1:  # the kernel may kill more than one of the pod's processes
        assert event["type"] == "Warning"
        assert event["source"] == {"component": "kernel-monitor", "host": "node1"}
        assert re.search(r"Memory cgroup out of memory: Killed process \d+ \(\w+\) "
                         r"total-vm:\d+kB", event["message"])
    # node2's detector reads the same kernel log, in order: once it has reported an OOM kill
    # on node2 (logged after node1's), it has read node1's too, and left them out
    kubectl(lab, "apply", "-f", "-", input=hog(lab, "hog2", "node2"))
    eventually(lambda: oom_killed(lab, "hog2"), timeout=90)
    node2 = eventually(lambda: oom_events(lab, "node2"), timeout=60)
    assert not set(killed_pids(node1)) & set(killed_pids(node2))
    assert not set(killed_pids(oom_events(lab, "node1"))) & set(killed_pids(node2))
    printed = kubectl(lab, "get", "events", "--field-selector", "involvedObject.kind=Node")
    assert re.search(r"Warning\s+OOMKilling\s+node/node1\s", printed)
    assert re.search(r"Warning\s+OOMKilling\s+node/node2\s", printed)


def detector_pod(lab: Lab, node: str) -> str | None:
    pods = kubectl_json(lab, *NPD, "get", "pods", "-l", "app=node-problem-detector")["items"]
    names = [str(p["metadata"]["name"]) for p in pods if p["spec"].get("nodeName") == node
             and p["status"].get("phase") == "Running" and not p["metadata"].get(
                 "deletionTimestamp")]
    return names[0] if names else None


def test_a_restarted_detector_reports_nothing_from_before_its_start(lab: Lab) -> None:
    """lookback 0s: a new detector skips the kernel's earlier OOM kills (upstream's 5m would
    report them again); it logs once it has read, and exported, everything before."""
    if not oom_events(lab, "node1"):
        kubectl(lab, "apply", "-f", "-", input=hog(lab, "hog3", "node1"))
        eventually(lambda: oom_killed(lab, "hog3"), timeout=90)
        eventually(lambda: oom_events(lab, "node1"), timeout=60)
    before = sorted((e["metadata"]["name"], e["count"]) for e in oom_events(lab, "node1"))
    old = detector_pod(lab, "node1")
    assert old is not None
    kubectl(lab, *NPD, "delete", "pod", old)
    new = eventually(lambda: (name := detector_pod(lab, "node1")) != old and name, timeout=90)
    caught_up = "kernel-monitor: read the kernel log up to now"
    eventually(lambda: caught_up in kubectl(lab, *NPD, "logs", new, check=False), timeout=60)
    assert sorted((e["metadata"]["name"], e["count"]) for e in oom_events(lab, "node1")) == before
