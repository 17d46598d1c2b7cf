"""What kube-proxy checks in a Service or EndpointSlice before any of it reaches a rule.

The API server validates these fields already (nodelab's, and any real one in join mode), but a
proxy renders their text into `iptables-restore` input and nft scripts, where a newline starts a
new command: `"1.2.3.4\\nCOMMIT"` in `externalIPs` would end the transaction early and smuggle in
rules of its own. So the proxy checks again, strictly, every field that is rendered: names
(they go into chain comments), addresses (parsed with `nodelab.kube.addresses`, which refuses
IPv6 zones and whitespace), ports and protocols. An object with problems is skipped (with an
event) and every other Service keeps being synced; `run_proxy` does the skipping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nodelab.kube.addresses import parse_cidr, parse_ip

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PROTOCOLS = ("TCP", "UDP", "SCTP")
TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


class InvalidObject(ValueError):
    """A Service or EndpointSlice the proxy will not render, with every problem found."""

    def __init__(self, kind: str, namespace: str, name: str, problems: list[str]) -> None:
        self.kind, self.namespace, self.name, self.problems = kind, namespace, name, problems
        super().__init__(f"{kind} {namespace}/{name} is not proxied: " + "; ".join(problems))


def _name(problems: list[str], path: str, value: Any, pattern: re.Pattern[str],
          limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not pattern.match(value):
        problems.append(f"{path} {value!r} is not a DNS name")


def _metadata(problems: list[str], obj: Mapping[str, Any]) -> None:
    meta = obj.get("metadata") or {}
    _name(problems, "metadata.namespace", meta.get("namespace") or "default", _DNS_LABEL, 63)
    _name(problems, "metadata.name", meta.get("name"), _DNS_SUBDOMAIN, 253)


def _port(problems: list[str], path: str, value: Any, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if value is None and allow_zero:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        problems.append(f"{path} {value!r} is not a port number")


def _ports(problems: list[str], ports: Any, node_ports: bool) -> None:
    if not isinstance(ports, list):
        problems.append("ports is not a list")
        return
    for i, port in enumerate(ports):
        if not isinstance(port, Mapping):
            problems.append(f"ports[{i}] is not an object")
            continue
        _port(problems, f"ports[{i}].port", port.get("port"))
        if node_ports:
            _port(problems, f"ports[{i}].nodePort", port.get("nodePort"), allow_zero=True)
        if (port.get("protocol") or "TCP") not in PROTOCOLS:
            problems.append(f"ports[{i}].protocol {port.get('protocol')!r} is not one of "
                            f"{', '.join(PROTOCOLS)}")
        if port.get("name"):
            _name(problems, f"ports[{i}].name", port["name"], _DNS_LABEL, 63)
        target = port.get("targetPort")
        if isinstance(target, str):
            _name(problems, f"ports[{i}].targetPort", target, _DNS_LABEL, 15)
        elif target is not None:
            _port(problems, f"ports[{i}].targetPort", target)


def service_problems(obj: Mapping[str, Any]) -> list[str]:
    """Every reason not to render this Service (empty when it is fine)."""
    problems: list[str] = []
    _metadata(problems, obj)
    spec = obj.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    if kind not in TYPES:
        problems.append(f"spec.type {kind!r} is not one of {', '.join(TYPES)}")
    if kind == "ExternalName":
        return problems
    cluster_ips = [spec.get("clusterIP") or ""] + list(spec.get("clusterIPs") or [])
    for i, value in enumerate(cluster_ips):
        if value not in ("", "None") and parse_ip(value) is None:
            field = "spec.clusterIP" if i == 0 else f"spec.clusterIPs[{i - 1}]"
            problems.append(f"{field} {value!r} is not an IP address")
    for field in ("externalIPs", "loadBalancerSourceRanges"):
        values = spec.get(field) or []
        if not isinstance(values, list):
            problems.append(f"spec.{field} is not a list")
            continue
        parse = parse_ip if field == "externalIPs" else parse_cidr
        for i, value in enumerate(values):
            if parse(value.strip() if field != "externalIPs" and isinstance(value, str)
                     else value) is None:
                problems.append(f"spec.{field}[{i}] {value!r} is not an IP "
                                f"{'address' if field == 'externalIPs' else 'range'}")
    if spec.get("loadBalancerIP") and parse_ip(spec["loadBalancerIP"]) is None:
        problems.append(f"spec.loadBalancerIP {spec['loadBalancerIP']!r} is not an IP address")
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    for i, entry in enumerate(ingress if isinstance(ingress, list) else []):
        if isinstance(entry, Mapping) and entry.get("ip") and parse_ip(entry["ip"]) is None:
            problems.append(f"status.loadBalancer.ingress[{i}].ip {entry['ip']!r} is not an "
                            "IP address")
    _ports(problems, spec.get("ports") or [], kind in ("NodePort", "LoadBalancer"))
    _port(problems, "spec.healthCheckNodePort", spec.get("healthCheckNodePort"), allow_zero=True)
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get(
        "timeoutSeconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 0 < timeout <= 86400):
        problems.append(f"spec.sessionAffinityConfig.clientIP.timeoutSeconds {timeout!r} is "
                        "not between 1 and 86400")
    return problems


def endpoint_slice_problems(obj: Mapping[str, Any]) -> list[str]:
    """Every reason not to render this EndpointSlice (empty when it is fine)."""
    problems: list[str] = []
    _metadata(problems, obj)
    if obj.get("addressType") not in ("IPv4", "IPv6", "FQDN", None):
        problems.append(f"addressType {obj.get('addressType')!r} is not IPv4, IPv6 or FQDN")
    endpoints = obj.get("endpoints") or []
    if not isinstance(endpoints, list):
        return [*problems, "endpoints is not a list"]
    if obj.get("addressType") != "FQDN":
        for i, endpoint in enumerate(endpoints):
            addresses = (endpoint or {}).get("addresses") or [] if isinstance(
                endpoint, Mapping) else None
            if not isinstance(addresses, list):
                problems.append(f"endpoints[{i}].addresses is not a list")
                continue
            for j, value in enumerate(addresses):
                if parse_ip(value) is None:
                    problems.append(f"endpoints[{i}].addresses[{j}] {value!r} is not an IP "
                                    "address")
    _ports(problems, [p for p in obj.get("ports") or [] if not isinstance(p, Mapping)
                      or p.get("port") is not None], node_ports=False)
    return problems
