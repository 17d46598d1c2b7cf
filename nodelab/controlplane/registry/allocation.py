"""Service ClusterIP and NodePort allocation, computed from the services that exist.

kube-apiserver keeps allocation bitmaps; here the set of used addresses and ports is read from
the stored services each time (a lab holds tens of services, not thousands), which also means a
restart can never leak or double-book one. The REST layer calls these while holding its
allocation lock, so two concurrent creates cannot take the same address.

Upstream conventions kept: 10.96.0.1 is the `kubernetes` service, 10.96.0.10 is left for DNS
(kind and kubeadm put kube-dns there), dynamic addresses are drawn at random from above the
"static band" so explicitly requested low addresses rarely collide, and node ports come from
30000-32767.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Iterable

from nodelab.controlplane.errors import Cause
from nodelab.kube.addresses import VALID_IP, parse_ip
from nodelab.kube.objects import Object

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
NODE_PORTS = range(30000, 32768)
_STATIC_BAND = 256


def used_addresses(services: Iterable[Object]) -> set[str]:
    used = set()
    for svc in services:
        spec = svc.get("spec") or {}
        for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
            if ip and ip != "None":
                used.add(str(ip))
    return used


def used_node_ports(services: Iterable[Object]) -> set[int]:
    return {int(port["nodePort"]) for svc in services
            for port in (svc.get("spec") or {}).get("ports") or []
            if isinstance(port, dict) and port.get("nodePort")}


def requested_cluster_ips(spec: Object) -> list[Cause]:
    """What is wrong with a requested `clusterIPs` before allocation replaces it.

    The service network is single-stack, so allocation keeps one address; a second one is
    refused here (never dropped silently), as is one that is not an address at all.
    """
    ips = spec.get("clusterIPs")
    if not isinstance(ips, list) or not ips:
        return []
    causes = []
    if spec.get("clusterIP") and ips[0] != spec["clusterIP"]:
        causes.append(Cause("spec.clusterIPs", "FieldValueInvalid",
                            f"Invalid value: {json.dumps(ips)}: first value must match "
                            "`clusterIP`"))
    for i, value in enumerate(ips[1:], start=1):
        if parse_ip(value) is None:
            causes.append(Cause(f"spec.clusterIPs[{i}]", "FieldValueInvalid",
                                f"Invalid value: {json.dumps(value)}: {VALID_IP}"))
        else:
            causes.append(Cause(f"spec.clusterIPs[{i}]", "FieldValueInvalid",
                                f"Invalid value: {json.dumps(value)}: the service network is "
                                "single-stack (IPv4); a Service has one cluster IP"))
    return causes


def allocate(svc: Object, existing: list[Object]) -> list[Cause]:
    """Fill in clusterIP(s) and node ports of a new service; causes if a request collides."""
    causes: list[Cause] = []
    spec = svc.setdefault("spec", {})
    if spec.get("type") == "ExternalName":
        return causes
    causes += requested_cluster_ips(spec)
    used = used_addresses(existing)
    requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [None])[0]
    if requested == "None":
        spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
    elif requested:
        if requested in used:
            causes.append(Cause("spec.clusterIPs", "FieldValueInvalid",
                                f'Invalid value: ["{requested}"]: failed to allocate IP '
                                f"{requested}: provided IP is already allocated"))
        spec["clusterIP"], spec["clusterIPs"] = requested, [requested]
    else:
        address = _free_address(used)
        spec["clusterIP"], spec["clusterIPs"] = address, [address]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        taken = used_node_ports(existing)
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            wanted = port.get("nodePort")
            if wanted:
                if wanted in taken:
                    causes.append(Cause(f"spec.ports[{i}].nodePort", "FieldValueInvalid",
                                        f"Invalid value: {wanted}: provided port is already "
                                        "allocated"))
                taken.add(wanted)
            else:
                port["nodePort"] = _free_port(taken)
                taken.add(port["nodePort"])
    return causes


def carry_over(new: Object, old: Object, existing: list[Object]) -> list[Cause]:
    """On update: keep the allocated IP, keep or allocate node ports as the type changes."""
    spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
    if spec.get("type") != "ExternalName":
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = old_spec["clusterIPs"]
        if not spec.get("clusterIP"):
            others = [s for s in existing if s["metadata"]["uid"] != old["metadata"]["uid"]]
            address = _free_address(used_addresses(others))
            spec["clusterIP"], spec["clusterIPs"] = address, [address]
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.pop("nodePort", None)
        return []
    old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                 for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    others = [s for s in existing if s["metadata"]["uid"] != old["metadata"]["uid"]]
    taken = used_node_ports(others)
    causes: list[Cause] = []
    for i, port in enumerate(spec.get("ports") or []):
        if not isinstance(port, dict):
            continue
        if not port.get("nodePort"):
            previous = old_ports.get((port.get("port"), port.get("protocol")))
            port["nodePort"] = previous or _free_port(taken)
        elif port["nodePort"] in taken:
            causes.append(Cause(f"spec.ports[{i}].nodePort", "FieldValueInvalid",
                                f"Invalid value: {port['nodePort']}: provided port is already "
                                "allocated"))
        taken.add(port["nodePort"])
    return causes


def _free_address(used: set[str]) -> str:
    size = SERVICE_CIDR.num_addresses
    reserved = used | {KUBERNETES_SERVICE_IP, DNS_SERVICE_IP}
    for _ in range(1000):
        candidate = str(SERVICE_CIDR[random.randrange(_STATIC_BAND, size - 1)])
        if candidate not in reserved:
            return candidate
    for offset in range(2, size - 1):
        candidate = str(SERVICE_CIDR[offset])
        if candidate not in reserved:
            return candidate
    raise RuntimeError("service CIDR exhausted")


def _free_port(taken: set[int]) -> int:
    free = [p for p in NODE_PORTS if p not in taken]
    if not free:
        raise RuntimeError("node port range exhausted")
    return random.choice(free)
