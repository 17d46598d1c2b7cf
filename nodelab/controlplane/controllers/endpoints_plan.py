"""The Endpoints controller's plan (upstream's pkg/controller/endpoint), pure.

core/v1 Endpoints is deprecated since 1.33 but kube-controller-manager still keeps one per
Service with a selector, and learners still type `kubectl get endpoints`: the same pods as the
Service's EndpointSlices (`endpointslice_plan.desired_groups`: a pod IP, the ports resolved
per pod), grouped into subsets by resolved ports, each with `addresses` (ready, or every pod
with `publishNotReadyAddresses`) and `notReadyAddresses`; terminating pods are left out
unless not-ready addresses are published. The object carries the Service's labels, plus
`service.kubernetes.io/headless` for a headless Service. A Service without a selector keeps
the Endpoints its owner writes (that is how the `kubernetes` Service's are kept); the
Endpoints of a Service that is gone are deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodelab.controlplane.controllers.endpointslice_plan import desired_groups
from nodelab.kube.objects import ObjectView

HEADLESS_LABEL = "service.kubernetes.io/headless"


def _address(endpoint: ObjectView) -> dict[str, Any]:
    address: dict[str, Any] = {"ip": endpoint["addresses"][0]}
    if endpoint.get("nodeName"):
        address["nodeName"] = endpoint["nodeName"]
    address["targetRef"] = dict(endpoint["targetRef"])
    return address


def _subsets(service: ObjectView, pods: Sequence[ObjectView]) -> list[dict[str, Any]]:
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    merged: dict[tuple[tuple[str, int, str], ...], dict[str, Any]] = {}
    for group in desired_groups(service, pods):
        collected = merged.setdefault(group.key, {"ports": group.ports, "ready": [],
                                                  "not_ready": []})
        for endpoint in group.endpoints:
            conditions = endpoint["conditions"]
            if conditions["terminating"] and not publish:
                continue
            collected["ready" if conditions["ready"] else "not_ready"].append(
                _address(endpoint))
    subsets = []
    for key in sorted(merged):
        found = merged[key]
        if not found["ready"] and not found["not_ready"]:
            continue
        subset: dict[str, Any] = {}
        if found["ready"]:
            subset["addresses"] = sorted(found["ready"], key=lambda a: a["ip"])
        if found["not_ready"]:
            subset["notReadyAddresses"] = sorted(found["not_ready"], key=lambda a: a["ip"])
        ports = [{**({"name": p["name"]} if p.get("name") else {}), "port": p["port"],
                  "protocol": p["protocol"]} for p in found["ports"]]
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets


def desired_endpoints(service: ObjectView, pods: Sequence[ObjectView]) -> dict[str, Any] | None:
    """The Endpoints `service` should have (None: a Service without a selector, whose
    Endpoints are its owner's)."""
    spec = service.get("spec") or {}
    if not spec.get("selector") or spec.get("type") == "ExternalName":
        return None
    metadata = service.get("metadata") or {}
    labels = dict(metadata.get("labels") or {})
    if spec.get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    body: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {
        "name": metadata.get("name"), "namespace": metadata.get("namespace")}}
    if labels:
        body["metadata"]["labels"] = labels
    subsets = _subsets(service, pods)
    if subsets:
        body["subsets"] = subsets
    return body


def differs(current: ObjectView, wanted: ObjectView) -> bool:
    """Whether the stored Endpoints must be rewritten to `wanted` (labels or subsets)."""
    return ((current.get("metadata") or {}).get("labels") or {}) != (
        (wanted.get("metadata") or {}).get("labels") or {}) or (
        current.get("subsets") or []) != (wanted.get("subsets") or [])
