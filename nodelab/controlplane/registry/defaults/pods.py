"""Defaulting of pods and pod templates' specs, as core/v1 `SetDefaults_Pod`, `_PodSpec`,
`_Container`, `_Probe` and `_Volume`, and the DefaultTolerationSeconds admission plugin."""

from __future__ import annotations

import contextlib

from nodelab.kube.objects import Object
from nodelab.kube.pod.qos import compute_pod_qos
from nodelab.kube.quantities import InvalidQuantity


def _image_pull_policy(image: str) -> str:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    if "@" in image:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _probe(probe: Object | None) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _container(container: Object) -> None:
    if not isinstance(container, dict):
        return
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))


def _volume(volume: Object) -> None:
    if not isinstance(volume, dict):
        return
    for source in ("secret", "configMap", "projected", "downwardAPI"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    if not any(k for k in volume if k != "name"):
        volume["emptyDir"] = {}


def pod_spec(spec: Object) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(kind) or []:
            _container(container)
    for volume in spec.get("volumes") or []:
        _volume(volume)


def pod(obj: Object) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    if not isinstance(spec, dict):
        return
    spec.setdefault("enableServiceLinks", True)  # priority: the Priority admission (priority.py)
    for kind in ("initContainers", "containers"):
        for container in spec.get(kind) or []:
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                for name, value in resources["limits"].items():
                    requests.setdefault(name, value)
    tolerations = spec.setdefault("tolerations", [])
    if isinstance(tolerations, list):
        for taint in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if not any(isinstance(t, dict) and t.get("key") == taint for t in tolerations):
                tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                    "tolerationSeconds": 300})
    status = obj.setdefault("status", {})
    if isinstance(status, dict):
        status.setdefault("phase", "Pending")
        with contextlib.suppress(InvalidQuantity, AttributeError, TypeError):
            # a malformed spec gets no class here: validation refuses it, naming the field
            status.setdefault("qosClass", compute_pod_qos(spec))
