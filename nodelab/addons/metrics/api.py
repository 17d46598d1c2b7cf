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
from nodelab.kubewire.go_quote import go_quote
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


def forbidden(user: str, attributes: Obj, reason: str) -> Obj:
    """The 403 of a request the authorizer refused, as the apiserver library writes it
    (responsewriters.ForbiddenStatusError) for the SubjectAccessReview's `attributes` (its
    resourceAttributes or nonResourceAttributes): `nodes.metrics.k8s.io "n1" is forbidden: User
    "u" cannot get resource "nodes" in API group "metrics.k8s.io" at the cluster scope`, then
    `: <reason>` when the review gave one."""
    paths = attributes.get("nonResourceAttributes")
    if paths is not None:
        message = (f"User {go_quote(user)} cannot {paths['verb']} path "
                   f"{go_quote(paths['path'])}")
        group = resource = name = ""
    else:
        asked = attributes["resourceAttributes"]
        group, resource, name = asked["group"], asked["resource"], asked.get("name", "")
        namespace = asked.get("namespace", "")
        scope = (f" in the namespace {go_quote(namespace)}" if namespace
                 else " at the cluster scope")
        message = (f"User {go_quote(user)} cannot {asked['verb']} resource {go_quote(resource)} "
                   f"in API group {go_quote(group)}{scope}")
    for char, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):  # its sanitizer
        message = message.replace(char, escaped)
    if reason:
        message = f"{message}: {reason}"
    qualified = f"{resource}.{group}" if group else resource
    subject = f"{qualified} {go_quote(name)}" if name else qualified
    details = {k: v for k, v in (("name", name), ("group", group), ("kind", resource)) if v}
    return status(403, "Forbidden", f"{subject} is forbidden: {message}" if subject
                  else f"forbidden: {message}", details or None)


def not_found(resource: str, name: str) -> Obj:
    return status(404, "NotFound", f'{resource}.{GROUP} "{name}" not found',
                  {"name": name, "group": GROUP, "kind": resource})
