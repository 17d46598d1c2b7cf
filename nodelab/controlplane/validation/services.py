"""Service validation (upstream `ValidateService`): type, ports, cluster IPs, node ports."""

from __future__ import annotations

import ipaddress
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.addresses import parse_cidr, parse_ip
from nodelab.kube.objects import Object

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
    _addresses(errors, spec, kind)
    cluster_ip = spec.get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        address = parse_ip(cluster_ip)
        if address is None:
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
    validate_service_status(errors, svc)


def _addresses(errors: FieldErrors, spec: Object, kind: Any) -> None:
    """Every address field besides clusterIP: they all end up in kube-proxy's rules."""
    cluster_ips = spec.get("clusterIPs")
    if cluster_ips is not None and not isinstance(cluster_ips, list):
        errors.invalid("spec.clusterIPs", cluster_ips, "must be a list")
    elif cluster_ips:
        if spec.get("clusterIP") and cluster_ips[0] != spec.get("clusterIP"):
            errors.invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`")
        for i, value in enumerate(cluster_ips[1:], start=1):
            errors.ip(f"spec.clusterIPs[{i}]", value)
    external = spec.get("externalIPs")
    if external is not None and not isinstance(external, list):
        errors.invalid("spec.externalIPs", external, "must be a list")
    else:
        for i, value in enumerate(external or []):
            errors.non_special_ip(f"spec.externalIPs[{i}]", value)
    lb_ip = spec.get("loadBalancerIP")
    if lb_ip:
        if kind != "LoadBalancer":
            errors.forbidden("spec.loadBalancerIP",
                             "may only be used when `type` is 'LoadBalancer'")
        else:
            errors.ip("spec.loadBalancerIP", lb_ip)
    ranges = spec.get("loadBalancerSourceRanges")
    if ranges:
        if kind != "LoadBalancer":
            errors.forbidden("spec.loadBalancerSourceRanges",
                             "may only be used when `type` is 'LoadBalancer'")
        elif not isinstance(ranges, list):
            errors.invalid("spec.loadBalancerSourceRanges", ranges, "must be a list")
        else:
            for i, value in enumerate(ranges):
                if parse_cidr(value.strip() if isinstance(value, str) else value) is None:
                    errors.invalid(f"spec.loadBalancerSourceRanges[{i}]", value,
                                   "must be a list of IP ranges. For example, "
                                   "10.240.0.0/24,10.250.0.0/24 ")


def validate_service_status(errors: FieldErrors, svc: Object) -> None:
    """status.loadBalancer.ingress[].ip: written by controllers, read by proxies."""
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if not isinstance(ingress, list):
        errors.invalid("status.loadBalancer.ingress", ingress, "must be a list")
        return
    for i, entry in enumerate(ingress):
        if isinstance(entry, dict) and entry.get("ip"):
            errors.ip(f"status.loadBalancer.ingress[{i}].ip", entry["ip"])
        if isinstance(entry, dict) and entry.get("hostname"):
            errors.dns1123_subdomain(f"status.loadBalancer.ingress[{i}].hostname",
                                     entry["hostname"])


def validate_service_update(errors: FieldErrors, new: Object, old: Object, cidr: str) -> None:
    validate_service(errors, new, cidr)
    old_ip = (old.get("spec") or {}).get("clusterIP")
    new_ip = (new.get("spec") or {}).get("clusterIP")
    if old_ip and new_ip != old_ip and (new.get("spec") or {}).get("type") != "ExternalName":
        errors.invalid("spec.clusterIPs[0]", new_ip, "may not change once set")
