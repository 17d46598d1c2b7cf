"""Service validation (upstream `ValidateService`): type, ports, cluster IPs, node ports."""

from __future__ import annotations

import ipaddress
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors

Object = dict[str, Any]

TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
NODE_PORT_RANGE = (30000, 32767)


def validate_service(errors: FieldErrors, svc: Object, service_cidr: str) -> None:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    kind = spec.get("type")
    if kind not in TYPES:
        errors.unsupported("spec.type", kind, TYPES)
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports") or []
    if not ports and kind != "ExternalName" and not headless:
        errors.required("spec.ports")
    if kind == "ExternalName" and not spec.get("externalName"):
        errors.required("spec.externalName")
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if not isinstance(port, dict):
            errors.invalid(path, port, "must be an object")
            continue
        if len(ports) > 1 and not port.get("name"):
            errors.required(f"{path}.name")
        elif port.get("name"):
            errors.dns1123_label(f"{path}.name", port["name"])
            if port["name"] in names:
                errors.duplicate(f"{path}.name", port["name"])
            names.add(port["name"])
        if "port" not in port:
            errors.required(f"{path}.port")
        else:
            errors.port(f"{path}.port", port["port"])
        errors.protocol(f"{path}.protocol", port.get("protocol"))
        if (port.get("port"), port.get("protocol")) in seen:
            errors.duplicate(path, {"port": port.get("port"), "protocol": port.get("protocol")})
        seen.add((port.get("port"), port.get("protocol")))
        target = port.get("targetPort")
        if isinstance(target, int) and not isinstance(target, bool):
            errors.port(f"{path}.targetPort", target)
        elif isinstance(target, str):
            errors.port_name(f"{path}.targetPort", target)
        node_port = port.get("nodePort")
        if node_port:
            if kind not in ("NodePort", "LoadBalancer"):
                errors.forbidden(f"{path}.nodePort", "may not be used when `type` is "
                                 f"'{kind}'")
            elif not (isinstance(node_port, int)
                      and NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]):
                errors.invalid(f"{path}.nodePort", node_port, "provided port is not in the valid "
                               "range. The range of valid ports is 30000-32767")
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        try:
            address = ipaddress.ip_address(str(cluster_ip))
        except ValueError:
            errors.invalid("spec.clusterIPs[0]", cluster_ip, "must be empty, 'None', or a valid IP"
                           " address")
        else:
            if address not in ipaddress.ip_network(service_cidr):
                errors.invalid("spec.clusterIPs", [cluster_ip], "failed to allocate IP "
                               f"{cluster_ip}: the provided IP ({cluster_ip}) is not in the valid"
                               f" range. The range of valid IPs is {service_cidr}")
    affinity = spec.get("sessionAffinity")
    if affinity not in ("None", "ClientIP"):
        errors.unsupported("spec.sessionAffinity", affinity, ["ClientIP", "None"])
    errors.labels("spec.selector", spec.get("selector"))
    for policy in ("externalTrafficPolicy", "internalTrafficPolicy"):
        value = spec.get(policy)
        if value is not None and value not in ("Cluster", "Local"):
            errors.unsupported(f"spec.{policy}", value, ["Cluster", "Local"])


def validate_service_update(errors: FieldErrors, new: Object, old: Object, cidr: str) -> None:
    validate_service(errors, new, cidr)
    old_ip = (old.get("spec") or {}).get("clusterIP")
    new_ip = (new.get("spec") or {}).get("clusterIP")
    if old_ip and new_ip != old_ip and (new.get("spec") or {}).get("type") != "ExternalName":
        errors.invalid("spec.clusterIPs[0]", new_ip, "may not change once set")
