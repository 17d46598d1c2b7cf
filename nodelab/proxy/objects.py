"""Building the proxy's input model from API objects: plain JSON dicts or the official client.

The API server speaks JSON with camelCase keys; the official `kubernetes` client turns that into
`V1Service` / `V1EndpointSlice` objects with snake_case attributes. Both roads lead to the same
dataclasses: client objects are first serialised back to the API's JSON shape with the client's
own `ApiClient.sanitize_for_serialization`, then read by the dict converters. So there is one
place that knows the API's field names and defaults:

- Service: headless (`clusterIP: None`) and `ExternalName` Services have no virtual IP, so
  `service_from_dict` returns None for them; `nodePort` only counts for NodePort and
  LoadBalancer Services; `sessionAffinityConfig.clientIP.timeoutSeconds` defaults to 10800.
- EndpointSlice: the Service is named by the `kubernetes.io/service-name` label (a slice
  without it belongs to no Service and is ignored); unset conditions mean ready=true,
  serving=ready, terminating=false, as the API documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodelab.proxy.model import (
    DEFAULT_STICKY_SECONDS,
    EndpointSlice,
    Service,
    ServicePortSpec,
    SliceEndpoint,
    SlicePort,
)
from nodelab.proxy.object_checks import (
    InvalidObject,
    endpoint_slice_problems,
    service_problems,
)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _get(obj: Mapping[str, Any] | None, *path: str) -> Any:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def service_from_dict(obj: Mapping[str, Any]) -> Service | None:
    """A Service from its API JSON, or None if it has no ClusterIP to proxy."""
    spec = obj.get("spec") or {}
    svc_type = spec.get("type") or "ClusterIP"
    cluster_ip = spec.get("clusterIP") or ""
    if svc_type == "ExternalName" or cluster_ip in ("", "None"):
        return None
    exposes_node_ports = svc_type in ("NodePort", "LoadBalancer")
    ports = tuple(
        ServicePortSpec(
            port=int(p["port"]),
            protocol=p.get("protocol") or "TCP",
            name=p.get("name") or "",
            node_port=int(p.get("nodePort") or 0) if exposes_node_ports else 0,
            target_port=p.get("targetPort"),
        )
        for p in spec.get("ports") or ()
    )
    timeout = _get(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds")
    return Service(
        namespace=_get(obj, "metadata", "namespace") or "default",
        name=_get(obj, "metadata", "name") or "",
        cluster_ip=cluster_ip,
        ports=ports,
        type=svc_type,
        session_affinity=spec.get("sessionAffinity") or "None",
        sticky_seconds=int(timeout) if timeout else DEFAULT_STICKY_SECONDS,
        internal_traffic_policy=spec.get("internalTrafficPolicy") or "Cluster",
        external_traffic_policy=spec.get("externalTrafficPolicy") or "Cluster",
        external_ips=tuple(spec.get("externalIPs") or ()),
        health_check_node_port=int(spec.get("healthCheckNodePort") or 0),
    )


def endpoint_slice_from_dict(obj: Mapping[str, Any]) -> EndpointSlice | None:
    """An EndpointSlice from its API JSON, or None if it names no Service."""
    service_name = _get(obj, "metadata", "labels", SERVICE_NAME_LABEL)
    if not service_name:
        return None
    endpoints = []
    for ep in obj.get("endpoints") or ():
        conditions = ep.get("conditions") or {}
        ready = conditions.get("ready")
        ready = True if ready is None else bool(ready)
        serving = conditions.get("serving")
        serving = ready if serving is None else bool(serving)
        endpoints.append(
            SliceEndpoint(
                addresses=tuple(ep.get("addresses") or ()),
                ready=ready,
                serving=serving,
                terminating=bool(conditions.get("terminating") or False),
                node_name=ep.get("nodeName"),
                zone=ep.get("zone"),
            )
        )
    ports = tuple(
        SlicePort(int(p["port"]), name=p.get("name") or "", protocol=p.get("protocol") or "TCP")
        for p in obj.get("ports") or ()
        if p.get("port") is not None
    )
    return EndpointSlice(
        namespace=_get(obj, "metadata", "namespace") or "default",
        name=_get(obj, "metadata", "name") or "",
        service_name=str(service_name),
        endpoints=tuple(endpoints),
        ports=ports,
        address_type=obj.get("addressType") or "IPv4",
    )


def to_api_dict(obj: Any) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        return obj
    from kubernetes.client import ApiClient

    data = ApiClient().sanitize_for_serialization(obj)  # type: ignore[no-untyped-call]
    if not isinstance(data, Mapping):
        raise TypeError(f"cannot read {type(obj).__name__} as a Kubernetes API object")
    return data


def _checked(kind: str, data: Mapping[str, Any], problems: list[str]) -> Mapping[str, Any]:
    if problems:
        meta = data.get("metadata") or {}
        raise InvalidObject(kind, str(meta.get("namespace") or "default"),
                            str(meta.get("name") or ""), problems)
    return data


def service_from_k8s(obj: Any) -> Service | None:
    """A Service from a `kubernetes.client.V1Service` (or its dict form).

    Raises InvalidObject when a field the rules would carry is malformed (`object_checks`).
    """
    data = to_api_dict(obj)
    return service_from_dict(_checked("Service", data, service_problems(data)))


def endpoint_slice_from_k8s(obj: Any) -> EndpointSlice | None:
    """An EndpointSlice from a `kubernetes.client.V1EndpointSlice` (or its dict form).

    Raises InvalidObject when an address or port the rules would carry is malformed.
    """
    data = to_api_dict(obj)
    return endpoint_slice_from_dict(_checked("EndpointSlice", data,
                                             endpoint_slice_problems(data)))
