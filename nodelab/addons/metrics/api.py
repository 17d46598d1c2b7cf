"""The metrics.k8s.io/v1beta1 documents metrics-server serves (pure).

NodeMetrics (cluster-scoped, named after the node, with its labels) and PodMetrics
(namespaced, one entry per container), each with `timestamp` (the last point's time, to the
second as `metav1.Time`), `window` (a Go duration) and `usage` (`cpu` in nanocores' canonical
quantity, `memory` the working set in BinarySI), `metadata.creationTimestamp` the time of the
request, as upstream. Lists carry `metadata: {}`; a missing object is a 404 Status
(`nodemetrics.metrics.k8s.io "x" not found`).
"""

from __future__ import annotations

from typing import Any

from nodelab.addons.metrics import quantity
from nodelab.addons.metrics.storage import Usage
from nodelab.kubewire.times import from_epoch

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
Obj = dict[str, Any]


def resource_list() -> Obj:
    verbs = ["get", "list"]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
            "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False,
                 "kind": "NodeMetrics", "verbs": verbs},
                {"name": "pods", "singularName": "", "namespaced": True,
                 "kind": "PodMetrics", "verbs": verbs}]}


def api_group() -> Obj:
    version = {"groupVersion": API_VERSION, "version": VERSION}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": GROUP, "versions": [version],
            "preferredVersion": version}


def _usage(u: Usage) -> Obj:
    return {"cpu": quantity.cpu(u.cpu_nanocores), "memory": quantity.memory(u.memory)}


def node_metrics(name: str, labels: dict[str, str], u: Usage, now_ns: int) -> Obj:
    metadata: Obj = {"name": name, "creationTimestamp": from_epoch(now_ns / 1e9)}
    if labels:
        metadata["labels"] = labels
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION, "metadata": metadata,
            "timestamp": from_epoch(u.at_ns / 1e9), "window": quantity.duration(u.window_ns),
            "usage": _usage(u)}


def pod_metrics(namespace: str, name: str, labels: dict[str, str], pod: Usage,
                containers: dict[str, Usage], now_ns: int) -> Obj:
    metadata: Obj = {"name": name, "namespace": namespace,
                     "creationTimestamp": from_epoch(now_ns / 1e9)}
    if labels:
        metadata["labels"] = labels
    return {"kind": "PodMetrics", "apiVersion": API_VERSION, "metadata": metadata,
            "timestamp": from_epoch(pod.at_ns / 1e9), "window": quantity.duration(pod.window_ns),
            "containers": [{"name": n, "usage": _usage(u)} for n, u in sorted(containers.items())]}


def listing(kind: str, items: list[Obj]) -> Obj:
    return {"kind": f"{kind}List", "apiVersion": API_VERSION, "metadata": {}, "items": items}


def status(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                 "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def not_found(resource: str, name: str) -> Obj:
    return status(404, "NotFound", f'{resource}.{GROUP} "{name}" not found',
                  {"name": name, "group": GROUP, "kind": resource})
