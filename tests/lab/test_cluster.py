"""A whole lab end to end: real kubectl -> API server -> scheduler -> kubelet -> runtime ->
CNI -> kube-proxy, with pods that really run and packets that really flow."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import pytest

from nodelab.host.processes import ProcessId
from nodelab.lab.lab import Lab
from tests.conftest import needs_root
from tests.faults.invariants import rule_endpoints
from tests.lab.kube import eventually, in_node, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]
def test_the_node_is_ready_with_a_pod_range(cluster: Lab) -> None:
    node = kubectl_json(cluster, "get", "node", "node1")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "KubeletReady"
    assert node["spec"]["podCIDR"].startswith("10.244.")
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("nodelab://")


def test_a_deployment_runs_and_its_service_spreads_requests(cluster: Lab) -> None:
    image = cluster.images.ref("web")
    kubectl(cluster, "create", "deployment", "web", f"--image={image}", "--replicas=3")
    kubectl(cluster, "expose", "deployment", "web", "--port=80", "--target-port=8080")
    pods = eventually(lambda: len(ready_pods(cluster, "app=web")) == 3
                      and ready_pods(cluster, "app=web"))
    node_cidr = kubectl_json(cluster, "get", "node", "node1")["spec"]["podCIDR"]
    prefix = node_cidr.rsplit(".", 1)[0]
    assert all(p["status"]["podIP"].startswith(prefix) for p in pods)
    cluster_ip = kubectl_json(cluster, "get", "svc", "web")["spec"]["clusterIP"]
    # kube-proxy has a DNAT rule for every pod before the requests are counted
    wanted = {f"{p['status']['podIP']}:8080" for p in pods}
    eventually(lambda: wanted <= rule_endpoints(cluster), timeout=30)

    def answers() -> dict[str, int]:
        counts: dict[str, int] = {}
        for _ in range(60):
            reply = in_node(cluster, "curl", "-s", "-m", "2", f"http://{cluster_ip}/").stdout
            counts[reply.strip()] = counts.get(reply.strip(), 0) + 1
        return counts

    names = {p["metadata"]["name"] for p in pods}
    counts = eventually(lambda: (c := answers()) and {k.split()[-1] for k in c if k} == names
                        and c, timeout=60)
    assert all(n >= 6 for k, n in counts.items() if k), counts
    name = pods[0]["metadata"]["name"]
    assert "serving" in kubectl(cluster, "logs", name)
    assert kubectl(cluster, "exec", name, "--", "hostname").strip() == name


def test_a_crashing_container_backs_off(cluster: Lab) -> None:
    image = cluster.images.ref("busybox")
    kubectl(cluster, "run", "crash", f"--image={image}", "--", "sh", "-c", "echo bye; exit 3")

    def crash_looping() -> dict[str, Any] | None:
        status = kubectl_json(cluster, "get", "pod", "crash")["status"]
        container: dict[str, Any] = (status.get("containerStatuses") or [{}])[0]
        waiting = (container.get("state") or {}).get("waiting") or {}
        if container.get("restartCount", 0) >= 1 and waiting.get("reason") == "CrashLoopBackOff":
            return container
        return None

    container = eventually(crash_looping, timeout=60)
    assert container["lastState"]["terminated"]["exitCode"] == 3
    assert container["lastState"]["terminated"]["reason"] == "Error"
    assert "bye" in kubectl(cluster, "logs", "crash", "--previous")
    events = kubectl(cluster, "get", "events", "--field-selector", "involvedObject.name=crash")
    assert "BackOff" in events


def test_readiness_follows_the_probe_and_the_endpoints_follow_readiness(cluster: Lab) -> None:
    image = cluster.images.ref("web")
    kubectl(cluster, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: probed, labels: {{app: probed}}}}
spec:
  containers:
  - name: web
    image: {image}
    readinessProbe:
      httpGet: {{path: /healthz, port: 8080}}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {{name: probed}}
spec:
  selector: {{app: probed}}
  ports: [{{port: 80, targetPort: 8080}}]
""")

    def endpoints(ready: bool) -> list[str]:
        slices = kubectl_json(cluster, "get", "endpointslices", "-l",
                              "kubernetes.io/service-name=probed")["items"]
        return [e["addresses"][0] for s in slices for e in s.get("endpoints") or []
                if e["conditions"].get("ready") is ready]

    eventually(lambda: endpoints(True))
    kubectl(cluster, "exec", "probed", "--", "rm", "/tmp/www/healthz")
    eventually(lambda: endpoints(False) and not endpoints(True), timeout=20)
    events = kubectl(cluster, "get", "events", "--field-selector", "involvedObject.name=probed")
    assert "Readiness probe failed" in events


def test_a_deleted_pod_is_stopped_and_removed(cluster: Lab) -> None:
    image = cluster.images.ref("pause")
    # a grace period longer than the delete's deadline: the delete ends in time only if the
    # pause image stops on TERM (no wait for the SIGKILL at the end of the grace period)
    kubectl(cluster, "run", "doomed", f"--image={image}",
            '--overrides={"apiVersion": "v1", "spec": {"terminationGracePeriodSeconds": 600}}')
    eventually(lambda: ready_pods(cluster, "run=doomed"))
    kubectl(cluster, "delete", "pod", "doomed", "--wait=true", "--timeout=100s")
    assert kubectl(cluster, "get", "pod", "doomed", check=False) == ""


def test_a_kubelet_killed_with_9_comes_back_without_restarting_pods(cluster: Lab) -> None:
    before = {p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"]
              for p in ready_pods(cluster, "app=web")}
    assert before
    pidfile = cluster.paths.pidfile("node1/kubelet")
    data = json.loads(pidfile.read_text())
    process = ProcessId(int(data["pid"]), int(data["start_time"]))
    os.kill(process.pid, signal.SIGKILL)
    eventually(lambda: not process.alive(), timeout=10)
    Lab.up(cluster.name, 1, progress=lambda _m: None)  # restarts what is not running
    after = eventually(lambda: len(ready_pods(cluster, "app=web")) == len(before) and {
        p["metadata"]["name"]: p["status"]["containerStatuses"][0]["containerID"]
        for p in ready_pods(cluster, "app=web")})
    assert after == before
