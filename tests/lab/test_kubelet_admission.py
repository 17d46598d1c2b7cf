"""The kubelet's admission on a real lab: a pod bound by hand (`spec.nodeName`, skipping the
scheduler) past the node's `maxPods` ends Failed with upstream's OutOfpods reason and message,
and nothing of it runs. (The refusal under MemoryPressure is shown end to end in
tests/kubelet/test_eviction.py; every admit handler's decision has a table test in
tests/kubelet/pods.)"""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]
POD = """
apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  nodeName: node1
  terminationGracePeriodSeconds: 1
  containers: [{name: app, image: %s, command: [sleep, "3600"]}]
"""


def _active_pods(lab: Lab) -> list[dict[str, Any]]:
    pods = kubectl_json(lab, "get", "pods", "-A", "--field-selector", "spec.nodeName=node1")
    return [p for p in pods["items"] if p["status"].get("phase") not in ("Succeeded", "Failed")]


def _pod(lab: Lab, name: str) -> dict[str, Any]:
    pod: dict[str, Any] = kubectl_json(lab, "get", "pod", name)
    return pod


def test_a_pod_bound_past_max_pods_fails_with_out_of_pods(lab: Lab) -> None:
    limit = len(_active_pods(lab)) + 1  # room for one more pod
    lab.set_kubelet_config({"maxPods": limit})
    eventually(lambda: kubectl_json(lab, "get", "node", "node1")["status"]["capacity"]["pods"]
               == str(limit), timeout=60)
    image = lab.images.ref("busybox")
    kubectl(lab, "apply", "-f", "-", input=POD % ("fits", image))
    eventually(lambda: _pod(lab, "fits")["status"].get("phase") == "Running", timeout=90)
    assert len(_active_pods(lab)) == limit  # the node is full now
    kubectl(lab, "apply", "-f", "-", input=POD % ("one-too-many", image))
    status = eventually(lambda: (s := _pod(lab, "one-too-many")["status"]).get("phase")
                        == "Failed" and s, timeout=60)
    message = (f"Node didn't have enough resource: pods, requested: 1, used: {limit}, "
               f"capacity: {limit}")
    assert (status["reason"], status["message"]) == ("OutOfpods",
                                                      f"Pod was rejected: {message}")
    assert not status.get("containerStatuses")  # nothing of it ran
    events = kubectl_json(lab, "get", "events", "--field-selector",
                          "involvedObject.name=one-too-many")["items"]
    assert [(e["type"], e["reason"], e["message"]) for e in events] == [
        ("Warning", "OutOfpods", message)]
    assert _pod(lab, "fits")["status"]["phase"] == "Running"  # the admitted pod runs on
