"""Limit ranges and resource quotas on a real lab through real kubectl: the docs tasks
"Configure Default Memory Requests and Limits", "Configure Memory and CPU Quotas" and
"Configure a Pod Quota" for a Namespace. The lab's own controllers process runs the quota
controller; its kubelet runs what is admitted."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


@pytest.fixture
def namespace(cluster: Lab, request: pytest.FixtureRequest) -> Iterator[str]:
    name = str(request.param)
    kubectl(cluster, "create", "namespace", name)
    try:
        yield name
    finally:
        kubectl(cluster, "delete", "namespace", name, "--wait=false")


def sleeper(lab: Lab, name: str, resources: str) -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: {name}-ctr
    image: {lab.images.ref("busybox")}
    command: ["sleep", "3600"]
    resources: {resources}
"""


def apply(lab: Lab, namespace: str, manifest: str) -> str:
    return kubectl(lab, "apply", "-n", namespace, "-f", "-", input=manifest)


def refusal(lab: Lab, namespace: str, manifest: str) -> str:
    """What kubectl says when the API server refuses `manifest`."""
    result = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "apply", "-n",
                             namespace, "-f", "-"], input=manifest, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0, result.stdout
    return result.stderr.strip()


def running(lab: Lab, namespace: str, name: str) -> bool:
    pod: dict[str, Any] = kubectl_json(lab, "get", "pod", name, "-n", namespace)
    return bool(pod["status"].get("phase") == "Running")


@pytest.mark.parametrize("namespace", ["default-mem-example"], indirect=True)
def test_default_memory_limits_run(cluster: Lab, namespace: str) -> None:
    apply(cluster, namespace, """
apiVersion: v1
kind: LimitRange
metadata:
  name: mem-limit-range
spec:
  limits:
  - default:
      memory: 512Mi
    defaultRequest:
      memory: 256Mi
    type: Container
""")
    apply(cluster, namespace, sleeper(cluster, "default-mem-demo", "{}"))
    yaml_out = kubectl(cluster, "get", "pod", "default-mem-demo", "-n", namespace, "-o", "yaml")
    assert "      limits:\n        memory: 512Mi\n      requests:\n        memory: 256Mi" in (
        yaml_out)
    assert eventually(lambda: running(cluster, namespace, "default-mem-demo"))
    refused = refusal(cluster, namespace, sleeper(cluster, "too-big",
                                                  '{"requests": {"memory": 600Mi}}'))
    # a request over the default limit: the defaulted pod is invalid (as upstream's docs say)
    assert 'The Pod "too-big" is invalid' in refused
    assert "must be less than or equal to memory limit" in refused


@pytest.mark.parametrize("namespace", ["quota-mem-cpu-example"], indirect=True)
def test_memory_and_cpu_quota(cluster: Lab, namespace: str) -> None:
    apply(cluster, namespace, """
apiVersion: v1
kind: ResourceQuota
metadata:
  name: mem-cpu-demo
spec:
  hard:
    requests.cpu: "1"
    requests.memory: 1Gi
    limits.cpu: "2"
    limits.memory: 2Gi
""")
    # the lab's quota controller fills the status; until then the quota limits nothing
    eventually(lambda: kubectl_json(cluster, "get", "quota", "mem-cpu-demo", "-n", namespace)[
        "status"].get("used"), timeout=30)
    apply(cluster, namespace, sleeper(
        cluster, "quota-mem-cpu-demo",
        '{"limits": {"memory": 800Mi, "cpu": 800m}, "requests": {"memory": 600Mi, '
        '"cpu": 400m}}'))
    refused = refusal(cluster, namespace, sleeper(
        cluster, "quota-mem-cpu-demo-2",
        '{"limits": {"memory": 1Gi, "cpu": 800m}, "requests": {"memory": 700Mi, '
        '"cpu": 400m}}'))
    assert refused == (
        'Error from server (Forbidden): error when creating "STDIN": pods '
        '"quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: '
        "requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi")
    described = kubectl(cluster, "describe", "quota", "mem-cpu-demo", "-n", namespace)
    assert [line.split() for line in described.splitlines()[-4:]] == [
        ["limits.cpu", "800m", "2"], ["limits.memory", "800Mi", "2Gi"],
        ["requests.cpu", "400m", "1"], ["requests.memory", "600Mi", "1Gi"]]
    assert eventually(lambda: running(cluster, namespace, "quota-mem-cpu-demo"))
    pods = kubectl(cluster, "get", "pods", "-n", namespace, "-o", "name").split()
    assert pods == ["pod/quota-mem-cpu-demo"]


@pytest.mark.parametrize("namespace", ["quota-pod-example"], indirect=True)
def test_pod_quota_stops_a_deployment(cluster: Lab, namespace: str) -> None:
    kubectl(cluster, "create", "quota", "pod-demo", "-n", namespace, "--hard=pods=2")
    eventually(lambda: kubectl_json(cluster, "get", "quota", "pod-demo", "-n", namespace).get(
        "status", {}).get("used"), timeout=30)
    kubectl(cluster, "create", "deployment", "pod-quota-demo", "-n", namespace,
            f"--image={cluster.images.ref('busybox')}", "--replicas=3", "--", "sleep", "3600")

    def refused() -> list[str]:
        events = kubectl_json(cluster, "get", "events", "-n", namespace,
                              "--field-selector", "reason=FailedCreate")["items"]
        return [e["message"] for e in events]

    messages = eventually(refused, timeout=30)
    assert messages[0].startswith('Error creating: pods "pod-quota-demo-')
    assert messages[0].endswith(" is forbidden: exceeded quota: pod-demo, requested: pods=1, "
                                "used: pods=2, limited: pods=2")
    pods = kubectl_json(cluster, "get", "pods", "-n", namespace)["items"]
    assert len(pods) == 2
    assert kubectl_json(cluster, "get", "quota", "pod-demo", "-n", namespace)["status"][
        "used"] == {"pods": "2"}

    def failure_conditions() -> list[dict[str, Any]]:
        replica_sets = kubectl_json(cluster, "get", "rs", "-n", namespace)["items"]
        return [c for c in replica_sets[0].get("status", {}).get("conditions") or []
                if c["type"] == "ReplicaFailure"]

    failure = eventually(failure_conditions, timeout=30)
    assert [(c["status"], c["reason"]) for c in failure] == [("True", "FailedCreate")]
    assert "exceeded quota: pod-demo" in failure[0]["message"]
    # and the Deployment shows it, as the docs' `kubectl get deployment -o yaml` does
    deployment = eventually(lambda: [
        c for c in kubectl_json(cluster, "get", "deployment", "pod-quota-demo", "-n", namespace)[
            "status"].get("conditions") or [] if c["type"] == "ReplicaFailure"], timeout=30)
    assert deployment[0]["message"] == failure[0]["message"]
