"""The API objects a pod refers to by name: its secrets, configMaps, claims and service account.

One walk of the pod spec for the two readers upstream has for it: the Node authorizer's graph
(a node may read an object only when a pod bound to it refers to it: controlplane's
`auth/node_restriction.py`) and the kubelet's configMap and secret managers, which watch each
object its pods refer to (upstream's `podutil.VisitPodSecretNames` /
`VisitPodConfigmapNames`: `kubelet/pods/object_watch.py`). Both must agree, or the kubelet
would watch what the authorizer refuses. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator

from nodelab.kube.objects import ObjectView

KINDS = ("secret", "configmap", "persistentvolumeclaim", "serviceaccount")


def _containers(spec: ObjectView) -> Iterator[ObjectView]:
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(kind) or []


def pod_references(pod: ObjectView) -> dict[str, set[str]]:
    """Kind (`KINDS`) -> the names of that kind `pod` refers to: imagePullSecrets, volumes
    (also projected sources), env `valueFrom` and `envFrom` of every container, and the service
    account."""
    spec = pod.get("spec") or {}
    refs: dict[str, set[str]] = {kind: set() for kind in KINDS}
    refs["serviceaccount"].add(spec.get("serviceAccountName") or "default")
    refs["secret"].update(s.get("name", "") for s in spec.get("imagePullSecrets") or [])
    for volume in spec.get("volumes") or []:
        if volume.get("secret"):
            refs["secret"].add(volume["secret"].get("secretName", ""))
        if volume.get("configMap"):
            refs["configmap"].add(volume["configMap"].get("name", ""))
        if volume.get("persistentVolumeClaim"):
            refs["persistentvolumeclaim"].add(volume["persistentVolumeClaim"].get("claimName", ""))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if source.get("secret"):
                refs["secret"].add(source["secret"].get("name", ""))
            if source.get("configMap"):
                refs["configmap"].add(source["configMap"].get("name", ""))
    for container in _containers(spec):
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            if value_from.get("secretKeyRef"):
                refs["secret"].add(value_from["secretKeyRef"].get("name", ""))
            if value_from.get("configMapKeyRef"):
                refs["configmap"].add(value_from["configMapKeyRef"].get("name", ""))
        for source in container.get("envFrom") or []:
            if source.get("secretRef"):
                refs["secret"].add(source["secretRef"].get("name", ""))
            if source.get("configMapRef"):
                refs["configmap"].add(source["configMapRef"].get("name", ""))
    return refs
