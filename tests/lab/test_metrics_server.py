"""`kubectl top` on a real lab: metrics-server (nodelab/addons/metrics) behind the APIService
`v1beta1.metrics.k8s.io`, reached through the API server's aggregation layer, scraping the
kubelets' `/metrics/resource` with its own service account (nodelab/lab/addons/metrics_server.py).
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from nodelab.lab.lab import Lab
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow]
METRICS_WAIT = 90.0  # two scrapes 15 s apart, the readiness probe, the availability check


def manifest(lab: Lab) -> str:
    busybox = lab.images.ref("busybox")
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: burner, labels: {{app: topdemo}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  # a limit, as upstream's HPA walkthrough sets: the loop takes a tenth of a core, not all
  # the cores the rest of the suite runs on
  - {{name: burn, image: {busybox}, command: [sh, -c, "while :; do :; done"],
     resources: {{limits: {{cpu: 100m}}}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: idler, labels: {{app: topdemo}}}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: idle, image: {busybox}, command: [sleep, "3600"]}}]
"""


def available(lab: Lab) -> bool:
    apiservice = kubectl_json(lab, "get", "apiservice", "v1beta1.metrics.k8s.io")
    return any(c["type"] == "Available" and c["status"] == "True"
               for c in apiservice.get("status", {}).get("conditions", []))


@pytest.fixture(scope="module")
def lab(cluster: Lab) -> Iterator[Lab]:
    kubectl(cluster, "apply", "-f", "-", input=manifest(cluster))
    kubectl(cluster, "wait", "--for=condition=Ready", "pod/burner", "pod/idler",
            "--timeout=90s")
    yield cluster
    kubectl(cluster, "delete", "-f", "-", "--wait=false", input=manifest(cluster), check=False)


def test_the_apiservice_turns_available_and_discovery_lists_the_group(lab: Lab) -> None:
    eventually(lambda: available(lab), timeout=METRICS_WAIT)
    printed = kubectl(lab, "get", "apiservice", "v1beta1.metrics.k8s.io")
    assert printed.split("\n")[1].split()[:3] == ["v1beta1.metrics.k8s.io",
                                                  "kube-system/metrics-server", "True"]
    resources = kubectl(lab, "api-resources", "--api-group=metrics.k8s.io")
    assert "NodeMetrics" in resources and "PodMetrics" in resources
    raw = json.loads(kubectl(lab, "get", "--raw", "/apis/metrics.k8s.io/v1beta1"))
    assert [r["name"] for r in raw["resources"]] == ["nodes", "pods"]


def test_top_node_and_raw_node_metrics(lab: Lab) -> None:
    node = lab.topology.nodes[0].name
    out = eventually(lambda: (r := kubectl(lab, "top", "node", check=False))
                     and node in r and r, timeout=METRICS_WAIT)
    header, *rows = out.strip().split("\n")
    assert header.split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert rows[0].split()[0] == node
    listed = json.loads(kubectl(lab, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"))
    assert listed["kind"] == "NodeMetricsList"
    [metrics] = [i for i in listed["items"] if i["metadata"]["name"] == node]
    assert metrics["window"].endswith("s") and metrics["usage"]["memory"].endswith("Ki")
    assert metrics["metadata"]["labels"]["kubernetes.io/hostname"] == node


def _millicores(text: str) -> int:
    return int(text[:-1]) if text.endswith("m") else int(text) * 1000


def test_top_pod_shows_the_cpu_burner_above_the_idle_pod(lab: Lab) -> None:
    seen: list[dict[str, int]] = []

    def burner_above_idler() -> bool:
        out = kubectl(lab, "top", "pod", "-l", "app=topdemo", "--no-headers", check=False)
        rows = {line.split()[0]: _millicores(line.split()[1]) for line in out.splitlines()
                if line.strip()}
        seen.append(rows)
        # a busy loop gets what the shared machine leaves it: well above an idle pod's 0-1m
        return {"burner", "idler"} <= set(rows) and rows["burner"] >= 10 \
            and rows["burner"] > rows["idler"]

    assert eventually(burner_above_idler, timeout=METRICS_WAIT, every=2), seen[-3:]
    everything = kubectl(lab, "top", "pod", "-A", "--containers")
    assert any(line.split()[:3] == ["default", "burner", "burn"]
               for line in everything.splitlines())
    assert any(line.split()[0] == "kube-system" and line.split()[1].startswith(
        "metrics-server-") for line in everything.splitlines())


def test_metrics_follow_rbac_and_the_aggregation_layer_refuses_strangers(lab: Lab) -> None:
    as_default = ["--as=system:serviceaccount:default:default"]
    denied = subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "top", "pod",
                             *as_default], capture_output=True, text=True, timeout=60).stderr
    assert 'pods.metrics.k8s.io is forbidden: User "system:serviceaccount:default:default" ' \
        'cannot list resource "pods" in API group "metrics.k8s.io" in the namespace ' \
        '"default"' in denied
    # the view role aggregates system:aggregated-metrics-reader, as upstream's manifest sets
    kubectl(lab, "create", "rolebinding", "topview", "--clusterrole=view",
            "--serviceaccount=default:default")
    try:
        out = eventually(lambda: "burner" in (r := kubectl(lab, "top", "pod", *as_default,
                                                            check=False)) and r)
        assert "idler" in out
    finally:
        kubectl(lab, "delete", "rolebinding", "topview", check=False)


def remove(lab: Lab, manifest: str, app: str) -> None:
    """Delete a test's objects and wait until their ReplicaSets and pods are gone too: the next
    test makes objects of the same names (and a ReplicaSet of the same template is named alike),
    and an HPA's selector would still match pods left terminating."""
    kubectl(lab, "delete", "-f", "-", "--ignore-not-found", "--timeout=100s", input=manifest,
            check=False)
    eventually(lambda: not kubectl_json(lab, "get", "rs,pods", "-l", f"app={app}")["items"],
               timeout=90)


def hpa_manifest(lab: Lab) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hpaburn}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: hpaburn}}}}
  template:
    metadata: {{labels: {{app: hpaburn}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: {lab.images.ref("busybox")}
        command: [sh, -c, "while :; do :; done"]
        resources: {{requests: {{cpu: 20m}}, limits: {{cpu: 100m}}}}  # ~500% of its request
"""


class StatusWatch:
    """Every status written to one HPA of `default`, in order: a watch from the
    resourceVersion of a list read before the HPA exists, so no write is missed."""

    def __init__(self, lab: Lab, name: str, seconds: int) -> None:
        client = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            str(lab.kubeconfig))
        api = k8s.AutoscalingV2Api(client)
        listed = api.list_namespaced_horizontal_pod_autoscaler("default")
        self.statuses: list[dict[str, Any]] = []
        self.failure: Exception | None = None
        self.watch = k8s_watch.Watch()  # type: ignore[no-untyped-call]
        stream = self.watch.stream(  # type: ignore[no-untyped-call]
            api.list_namespaced_horizontal_pod_autoscaler, "default",
            resource_version=listed.metadata.resource_version, timeout_seconds=seconds)

        def run() -> None:
            try:
                for event in stream:
                    if event["raw_object"]["metadata"]["name"] == name:
                        self.statuses.append(event["raw_object"].get("status") or {})
            except Exception as exc:  # said by `first` (a watch that ends while stopping: none)
                self.failure = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def first(self, desired: int) -> dict[str, Any] | None:
        found = next((s for s in list(self.statuses) if s.get("desiredReplicas") == desired),
                     None)
        if found is None and self.failure is not None:
            raise AssertionError(f"the watch of the HPA failed: {self.failure!r}")
        return found

    def stop(self) -> None:
        """Ends the watch at its next event (the caller deletes the HPA: one more)."""
        self.watch.stop()  # type: ignore[no-untyped-call]


def test_a_horizontal_pod_autoscaler_scales_a_busy_deployment_up(lab: Lab) -> None:
    """`kubectl autoscale` (autoscaling/v2): one pod burning far above 50 % of its 20m
    request is scaled to the maximum in one step (upstream's default scale-up policy allows
    4 pods per 15 s), and the status that pass wrote says why. Later passes see the new pods
    (without metrics, or in their CPU initialization period: 0 in a scale-up) and may find
    the count within range: the scaling pass is read from a watch, not the last status."""
    kubectl(lab, "apply", "-f", "-", input=hpa_manifest(lab))
    statuses = StatusWatch(lab, "hpaburn", int(METRICS_WAIT) + 120)
    try:
        kubectl(lab, "autoscale", "deployment", "hpaburn", "--cpu=50%", "--min=1", "--max=3")
        # the controller scales, records the event, then writes the HPA's status
        scaled = eventually(lambda: statuses.first(3), timeout=METRICS_WAIT + 60, every=1)
        assert kubectl_json(lab, "get", "deployment", "hpaburn")["spec"]["replicas"] == 3
        assert scaled["currentReplicas"] == 1  # one step
        conditions = {c["type"]: c for c in scaled["conditions"]}
        assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
        [metric] = scaled["currentMetrics"]
        utilization = metric["resource"]["current"]["averageUtilization"]
        assert utilization > 100  # one pod, 3 replicas wanted: over twice the 50 % target
        # upstream's rules for what that pass saw: ceil(1 pod x utilization / 50 %), capped
        # by maxReplicas 3 (TooManyReplicas) or exactly 3 (DesiredWithinRange); the scale-up
        # policy's limit (5) is above the maximum
        proposed = math.ceil(utilization / 50)
        assert conditions["ScalingLimited"]["reason"] == (
            "TooManyReplicas" if proposed > 3 else "DesiredWithinRange"), (utilization, scaled)
        hpa = kubectl_json(lab, "get", "hpa", "hpaburn")
        assert hpa["apiVersion"] == "autoscaling/v2"
        row = kubectl(lab, "get", "hpa", "hpaburn", "--no-headers").split()
        assert row[:2] == ["hpaburn", "Deployment/hpaburn"]
        assert row[2] == "cpu:" and row[3].endswith("%/50%") and row[4:6] == ["1", "3"]
        # recorded before the status write (upstream's order); waited for all the same
        eventually(lambda: "SuccessfulRescale" in (events := kubectl(
            lab, "get", "events", "--field-selector",
            "involvedObject.kind=HorizontalPodAutoscaler")) and "New size: 3" in events,
            timeout=30)
    finally:
        statuses.stop()
        kubectl(lab, "delete", "hpa", "hpaburn", check=False)
        statuses.thread.join(timeout=30)
        remove(lab, hpa_manifest(lab), "hpaburn")


def pods_metric_manifest(lab: Lab) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hpaidle}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: hpaidle}}}}
  template:
    metadata: {{labels: {{app: hpaidle}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {{name: idle, image: "{lab.images.ref("busybox")}", command: [sleep, "3600"]}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: hpaidle}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: hpaidle}}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Pods
    pods:
      metric: {{name: http_requests_per_second}}
      target: {{type: AverageValue, averageValue: 500m}}
"""


def test_a_pods_metric_without_a_custom_metrics_api_says_so_as_upstream(lab: Lab) -> None:
    """A lab serves no custom.metrics.k8s.io: the HPA stays, ScalingActive False with
    upstream's reason and message, and upstream's two warning events."""
    kubectl(lab, "apply", "-f", "-", input=pods_metric_manifest(lab))
    missing = ("unable to get metric http_requests_per_second: unable to fetch metrics from "
               "custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered")
    try:
        def scaling_active() -> dict[str, str] | None:
            conditions: list[dict[str, str]] = (kubectl_json(lab, "get", "hpa", "hpaidle").get(
                "status") or {}).get("conditions") or []
            return next((c for c in conditions if c["type"] == "ScalingActive"
                         and c["reason"] == "FailedGetPodsMetric"), None)

        active = eventually(scaling_active, timeout=60, every=2)
        assert active["status"] == "False"
        assert active["message"] == f"the HPA was unable to compute the replica count: {missing}"

        def warnings() -> dict[str, str] | None:
            events = kubectl_json(lab, "get", "events", "--field-selector",
                                  "involvedObject.name=hpaidle,"
                                  "involvedObject.kind=HorizontalPodAutoscaler")["items"]
            found = {e["reason"]: e["message"] for e in events}
            wanted = {"FailedGetPodsMetric", "FailedComputeMetricsReplicas"}
            return found if wanted <= set(found) else None

        messages = eventually(warnings, timeout=30, every=1)
        assert messages["FailedGetPodsMetric"] == missing
        assert messages["FailedComputeMetricsReplicas"] == (
            f"invalid metrics (1 invalid out of 1), first error is: failed to get pods metric "
            f"value: {missing}")
        assert kubectl_json(lab, "get", "deployment", "hpaidle")["spec"]["replicas"] == 1
    finally:
        remove(lab, pods_metric_manifest(lab), "hpaidle")


CONTAINER_HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: hpaburn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: hpaburn}
  minReplicas: 1
  maxReplicas: 2
  metrics:
  - type: ContainerResource
    containerResource:
      name: cpu
      container: burn
      target: {type: Utilization, averageUtilization: 50}
"""


def test_a_container_resource_metric_scales_on_its_container(lab: Lab) -> None:
    """autoscaling/v2 ContainerResource: the utilization of the named container (upstream reads
    it from metrics.k8s.io as the Resource metric), in the status and the event's reason."""
    kubectl(lab, "apply", "-f", "-", input=hpa_manifest(lab))
    try:
        kubectl(lab, "apply", "-f", "-", input=CONTAINER_HPA)
        eventually(lambda: kubectl_json(lab, "get", "deployment", "hpaburn")["spec"][
            "replicas"] == 2, timeout=METRICS_WAIT + 30, every=2)
        # the controller scales, records the event, then writes the HPA's status
        hpa = eventually(lambda: (h := kubectl_json(lab, "get", "hpa", "hpaburn"))["status"].get(
            "desiredReplicas") == 2 and h, timeout=30)
        [metric] = hpa["status"]["currentMetrics"]
        assert metric["type"] == "ContainerResource"
        assert metric["containerResource"]["container"] == "burn"
        assert metric["containerResource"]["current"]["averageUtilization"] > 50
        events = kubectl(lab, "get", "events", "--field-selector",
                         "involvedObject.kind=HorizontalPodAutoscaler")
        assert ("New size: 2; reason: cpu container resource utilization (percentage of "
                "request) above target") in events
    finally:
        kubectl(lab, "delete", "hpa", "hpaburn", check=False)
        remove(lab, hpa_manifest(lab), "hpaburn")
