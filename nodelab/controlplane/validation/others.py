"""Validation of the smaller kinds: nodes, endpoint slices, endpoints, config maps, secrets,
namespaces and leases."""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"]


def validate_node(errors: FieldErrors, node: Object) -> None:
    spec = node.get("spec") or {}
    if spec.get("podCIDR"):
        errors.cidr("spec.podCIDR", spec["podCIDR"])
    for i, cidr in enumerate(spec.get("podCIDRs") or []):
        errors.cidr(f"spec.podCIDRs[{i}]", cidr)
    for i, taint in enumerate(spec.get("taints") or []):
        if not (taint or {}).get("key"):
            errors.required(f"spec.taints[{i}].key")
        else:
            errors.qualified_name(f"spec.taints[{i}].key", taint["key"])
        if (taint or {}).get("effect") not in TAINT_EFFECTS:
            errors.unsupported(f"spec.taints[{i}].effect", (taint or {}).get("effect"),
                               TAINT_EFFECTS)
    status = node.get("status") or {}
    for kind in ("capacity", "allocatable"):
        for res, value in (status.get(kind) or {}).items():
            errors.quantity(f"status.{kind}[{res}]", value)
    for i, address in enumerate(status.get("addresses") or []):
        if not (address or {}).get("type"):
            errors.required(f"status.addresses[{i}].type")


def validate_node_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_node(errors, new)
    old_cidr = (old.get("spec") or {}).get("podCIDR")
    new_cidr = (new.get("spec") or {}).get("podCIDR")
    if old_cidr and new_cidr != old_cidr:
        errors.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from "
                         '"" to valid')


def validate_secret(errors: FieldErrors, secret: Object) -> None:
    validate_data(errors, secret)
    data = secret.get("data") or {}
    if secret.get("type") == "kubernetes.io/tls":
        for key in ("tls.crt", "tls.key"):
            if key not in data:
                errors.required(f"data[{key}]")
    if secret.get("type") == "kubernetes.io/dockerconfigjson" and (
            ".dockerconfigjson" not in data):
        errors.required("data[.dockerconfigjson]")


def validate_event(errors: FieldErrors, event: Object) -> None:
    namespace = (event.get("metadata") or {}).get("namespace", "")
    involved = (event.get("involvedObject") or {}).get("namespace")
    if involved and namespace and involved != namespace:
        errors.invalid("involvedObject.namespace", involved, "does not match event.namespace")


def validate_endpointslice(errors: FieldErrors, slice_: Object) -> None:
    address_type = slice_.get("addressType")
    if not address_type:
        errors.required("addressType")
    elif address_type not in ADDRESS_TYPES:
        errors.unsupported("addressType", address_type, ADDRESS_TYPES)
    endpoints = slice_.get("endpoints")
    if endpoints is not None and not isinstance(endpoints, list):
        errors.invalid("endpoints", endpoints, "must be a list")
        endpoints = []
    for i, endpoint in enumerate(endpoints or []):
        addresses = (endpoint or {}).get("addresses") or []
        if not addresses:
            errors.required(f"endpoints[{i}].addresses", "must contain at least 1 address")
        if len(addresses) > 100:
            errors.too_long(f"endpoints[{i}].addresses", 100)
        for j, address in enumerate(addresses):
            if address_type in ("IPv4", "IPv6"):
                errors.ip(f"endpoints[{i}].addresses[{j}]", address)
        if (endpoint or {}).get("nodeName"):
            errors.dns1123_subdomain(f"endpoints[{i}].nodeName", endpoint["nodeName"])
    names: set[str] = set()
    for i, port in enumerate(slice_.get("ports") or []):
        if port.get("port") is not None:
            errors.port(f"ports[{i}].port", port["port"])
        errors.protocol(f"ports[{i}].protocol", port.get("protocol"))
        name = port.get("name") or ""
        if name in names:
            errors.duplicate(f"ports[{i}].name", name)
        names.add(name)


def validate_endpoints(errors: FieldErrors, endpoints: Object) -> None:
    for i, subset in enumerate(endpoints.get("subsets") or []):
        for j, address in enumerate((subset or {}).get("addresses") or []):
            errors.ip(f"subsets[{i}].addresses[{j}].ip", (address or {}).get("ip"))
        for j, port in enumerate((subset or {}).get("ports") or []):
            errors.port(f"subsets[{i}].ports[{j}].port", (port or {}).get("port"))
            errors.protocol(f"subsets[{i}].ports[{j}].protocol", (port or {}).get("protocol"))


def validate_data(errors: FieldErrors, obj: Object) -> None:
    seen: set[str] = set()
    for field in ("data", "binaryData"):
        for key in (obj.get(field) or {}):
            errors.config_key(f"{field}[{key}]", key)
            if key in seen:
                errors.invalid(f"{field}[{key}]", key, "duplicate of key present in data")
            seen.add(key)


def validate_immutable_data(errors: FieldErrors, new: Object, old: Object) -> None:
    """A ConfigMap or Secret marked `immutable: true` keeps its data and the mark forever."""
    if not old.get("immutable"):
        return
    if not new.get("immutable"):
        errors.forbidden("immutable", "field is immutable when `immutable` is set")
    for field in ("data", "binaryData"):
        if (new.get(field) or {}) != (old.get(field) or {}):
            errors.forbidden(field, "field is immutable when `immutable` is set")


def validate_lease(errors: FieldErrors, lease: Object) -> None:
    spec = lease.get("spec") or {}
    errors.positive("spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"))
    errors.non_negative("spec.leaseTransitions", spec.get("leaseTransitions"))
