"""The downward API: a pod's own fields and a container's resources, as the kubelet reads them.

`field_value(pod, path, ...)` answers a `fieldRef` (env `valueFrom.fieldRef` and downwardAPI
volume items), for every path upstream allows: `metadata.name`, `metadata.namespace`,
`metadata.uid`, `metadata.labels['k']`, `metadata.annotations['k']` (and, in volumes, the whole
`metadata.labels` / `metadata.annotations` as `k="v"` lines), `spec.nodeName`,
`spec.serviceAccountName`, `status.hostIP(s)` and `status.podIP(s)` (lists joined with `,`).
The IPs come from the kubelet (the node's address, the sandbox's address), not from the Pod
object, which may not carry them yet when the first container starts.

`resource_value(pod, container, resource, divisor, allocatable)` answers a `resourceFieldRef`
(upstream's `ExtractContainerResourceValue` after `defaultPodLimitsForDownwardAPI`): an unset
limit of cpu, memory or ephemeral-storage reads as the node's allocatable; an unset request
reads as the limit the container set (the API server's defaulting), else 0; the value is divided
by `divisor` (default 1) and rounded up: cpu in millicores (`250m` / `1` -> `1`, `250m` / `1m`
-> `250`), memory and storage in bytes (`64Mi` / `1Mi` -> `64`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.objects import ObjectView
from nodelab.kube.quantities import parse_quantity

DEFAULTED_LIMITS = ("cpu", "memory", "ephemeral-storage")


class DownwardError(NodelabError):
    """A fieldRef or resourceFieldRef the kubelet cannot answer."""


def _format_map(values: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}"
                     for k, v in sorted(values.items()))


def field_value(pod: ObjectView, path: str, pod_ips: Sequence[str] = (),
                host_ips: Sequence[str] = ()) -> str:
    """The value of the pod field `path` (see the module doc for the paths)."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    if path in ("metadata.labels", "metadata.annotations"):
        return _format_map(metadata.get(path.split(".")[1]) or {})
    for kind in ("labels", "annotations"):
        prefix = f"metadata.{kind}['"
        if path.startswith(prefix) and path.endswith("']"):
            return str((metadata.get(kind) or {}).get(path[len(prefix):-2], ""))
    pods = list(pod_ips) or [ip["ip"] for ip in status.get("podIPs") or []] or (
        [status["podIP"]] if status.get("podIP") else [])
    hosts = list(host_ips) or [ip["ip"] for ip in status.get("hostIPs") or []] or (
        [status["hostIP"]] if status.get("hostIP") else [])
    simple = {
        "metadata.name": metadata.get("name"), "metadata.namespace": metadata.get("namespace"),
        "metadata.uid": metadata.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": pods[0] if pods else "", "status.podIPs": ",".join(pods),
        "status.hostIP": hosts[0] if hosts else "", "status.hostIPs": ",".join(hosts),
    }
    if path not in simple:
        raise DownwardError(f"unsupported fieldPath: {path}")
    return str(simple[path] or "")


def _amount(values: Mapping[str, Any], name: str) -> int | None:
    if name not in values:
        return None
    return parse_quantity(values[name], milli=name == "cpu")


def resource_value(pod: ObjectView, container: ObjectView, resource: str, divisor: str | int | None,
                   allocatable: Mapping[str, int]) -> str:
    """The value of a resourceFieldRef (see the module doc); `allocatable` in the kubelet's
    integers (millicores for cpu, bytes for the rest)."""
    kind, _, name = resource.partition(".")
    if kind not in ("limits", "requests") or not (
            name in DEFAULTED_LIMITS or name.startswith("hugepages-")):
        raise DownwardError(f"unsupported container resource : {resource}")
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    amount = _amount(limits, name)
    if kind == "limits" and amount is None and name in DEFAULTED_LIMITS:
        amount = allocatable.get(name, 0)
    if kind == "requests":
        amount = _amount(requests, name)
        if amount is None:
            amount = _amount(limits, name)
    cpu = name == "cpu"
    per = parse_quantity(divisor, milli=cpu) if divisor not in (None, "", 0, "0") else (
        1000 if cpu else 1)
    value = amount or 0
    return str(-(-value // per))


def container_named(pod: ObjectView, name: str) -> ObjectView:
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        if container.get("name") == name:
            return dict(container)
    raise DownwardError(f"container {name} not found")
