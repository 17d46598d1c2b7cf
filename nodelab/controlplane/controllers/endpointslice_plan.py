"""EndpointSlices for a Service, computed from its pods: the endpointslice controller's plan.

For a Service with a selector, every pod it selects that has an IP and has not finished is an
endpoint with upstream's conditions: `serving` = the pod is Ready, `terminating` = it has a
deletionTimestamp, `ready` = serving and not terminating (always true with
`publishNotReadyAddresses`). Named target ports are resolved per pod from its container ports,
so pods that resolve differently land in different slices. At most 100 endpoints per slice.

`reconcile` compares the desired slices with the ones that exist and says which to create,
update and delete, reusing existing slices with the same ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nodelab.kube.objects import ObjectView, pod_ready

MANAGED_BY = "endpointslice-controller.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MAX_ENDPOINTS = 100


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _resolve_port(port: ObjectView, pod: ObjectView) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for container_port in container.get("ports") or []:
            if container_port.get("name") == target and (
                container_port.get("protocol") or "TCP"
            ) == protocol:
                return int(container_port["containerPort"])
    return None


def endpoint_for(pod: ObjectView, publish_not_ready: bool) -> dict[str, Any]:
    metadata = pod.get("metadata") or {}
    terminating = bool(metadata.get("deletionTimestamp"))
    serving = pod_ready(pod) or publish_not_ready
    endpoint: dict[str, Any] = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {
            "ready": publish_not_ready or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {"kind": "Pod", "namespace": metadata.get("namespace"),
                      "name": metadata.get("name"), "uid": metadata.get("uid")},
    }
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        endpoint["nodeName"] = node_name
    return endpoint


@dataclass
class SliceGroup:
    """Endpoints that share one resolved port list."""

    ports: list[dict[str, Any]]
    endpoints: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[tuple[str, int, str], ...]:
        return port_key(self.ports)


def port_key(ports: Sequence[ObjectView]) -> tuple[tuple[str, int, str], ...]:
    return tuple(sorted((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "TCP")
                        for p in ports))


def desired_groups(service: ObjectView, pods: Sequence[ObjectView]) -> list[SliceGroup]:
    spec = service.get("spec") or {}
    selector = spec.get("selector") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple[tuple[str, int, str], ...], SliceGroup] = {}
    namespace = (service.get("metadata") or {}).get("namespace")
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        metadata = pod.get("metadata") or {}
        status = pod.get("status") or {}
        labels = metadata.get("labels") or {}
        if metadata.get("namespace") != namespace or not selects(selector, labels):
            continue
        if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed"):
            continue
        ports = []
        for port in spec.get("ports") or []:
            resolved = _resolve_port(port, pod)
            if resolved is None:
                continue
            entry = {"port": resolved, "protocol": port.get("protocol") or "TCP"}
            entry["name"] = port.get("name") or ""
            ports.append(entry)
        group = groups.setdefault(port_key(ports), SliceGroup(ports))
        group.endpoints.append(endpoint_for(pod, publish))
    if not groups and spec.get("ports") is not None:
        # no endpoints: one empty slice keeps the Service visible to kube-proxy as "no endpoints"
        groups[()] = SliceGroup([])
    result: list[SliceGroup] = []
    for group in groups.values():
        for start in range(0, max(len(group.endpoints), 1), MAX_ENDPOINTS):
            result.append(SliceGroup(group.ports, group.endpoints[start:start + MAX_ENDPOINTS]))
    return result


def slice_object(service: ObjectView, group: SliceGroup, name: str | None = None) -> dict[str, Any]:
    metadata = service["metadata"]
    labels = {SERVICE_NAME_LABEL: metadata["name"], MANAGED_BY_LABEL: MANAGED_BY}
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels["service.kubernetes.io/headless"] = ""
    slice_metadata: dict[str, Any] = {
        "namespace": metadata["namespace"],
        "labels": labels,
        "ownerReferences": [{
            "apiVersion": "v1", "kind": "Service", "name": metadata["name"],
            "uid": metadata.get("uid"), "controller": True, "blockOwnerDeletion": True,
        }],
    }
    if name:
        slice_metadata["name"] = name
    else:
        slice_metadata["generateName"] = f"{metadata['name']}-"
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": slice_metadata,
        "addressType": "IPv4",
        "endpoints": group.endpoints,
        "ports": group.ports,
    }


@dataclass
class SlicePlan:
    create: list[dict[str, Any]] = field(default_factory=list)
    update: list[dict[str, Any]] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def reconcile(service: ObjectView, pods: Sequence[ObjectView],
              existing: Sequence[ObjectView]) -> SlicePlan:
    plan = SlicePlan()
    if not (service.get("spec") or {}).get("selector"):
        return plan  # a Service without a selector: its slices are the user's
    unused = sorted(existing, key=lambda s: s["metadata"]["name"])
    groups = desired_groups(service, pods)
    done = 0
    for group in groups:
        match = next((s for s in unused if port_key(s.get("ports") or []) == group.key), None)
        if match is None:  # rewrite a slice no other group wants rather than churn
            wanted_later = {g.key for g in groups[done + 1:]}
            match = next((s for s in unused
                          if port_key(s.get("ports") or []) not in wanted_later), None)
        done += 1
        if match is None:
            plan.create.append(slice_object(service, group))
            continue
        unused.remove(match)
        wanted = slice_object(service, group, match["metadata"]["name"])
        if (match.get("endpoints") or []) != wanted["endpoints"] or (
            match.get("ports") or []
        ) != wanted["ports"]:
            wanted["metadata"]["resourceVersion"] = match["metadata"].get("resourceVersion")
            plan.update.append(wanted)
    plan.delete = [s["metadata"]["name"] for s in unused]
    return plan
