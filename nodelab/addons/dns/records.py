"""The cluster zone as data: which names exist and what they answer (the DNS specification).

Upstream: kubernetes/dns `docs/specification.md` (schema 1.1.0) as CoreDNS's `kubernetes`
plugin serves it with kubeadm's Corefile (`pods insecure`, TTL 5):

| name                                      | type  | answer                                  |
|-------------------------------------------|-------|-----------------------------------------|
| `dns-version.<zone>`                      | TXT   | `1.1.0`                                 |
| `<svc>.<ns>.svc.<zone>` (ClusterIP)       | A     | the cluster IP                          |
| `<svc>.<ns>.svc.<zone>` (headless)        | A     | each ready endpoint's address           |
| `<host>.<svc>.<ns>.svc.<zone>` (headless) | A     | that endpoint (hostname or dashed IP)   |
| `<svc>.<ns>.svc.<zone>` (ExternalName)    | CNAME | `spec.externalName`                     |
| `_<port>._<proto>.<svc>.<ns>.svc.<zone>`  | SRV   | `0 100 <port> <svc>...` (headless: one  |
|                                           |       | per endpoint, its own name as target)   |
| `<d>.<c>.<b>.<a>.in-addr.arpa`            | PTR   | the Service, or the endpoint's name     |
| `<a>-<b>-<c>-<d>.<ns>.pod.<zone>`         | A     | a.b.c.d (any well-formed: "insecure")   |

Endpoints count when ready (all of them with `publishNotReadyAddresses`). A name with nothing
of the asked type, or a name only below which records exist, answers NOERROR with no records
(NODATA); a name in the zone that does not exist answers NXDOMAIN; both carry the zone's SOA.
A name outside the zone and outside in-addr.arpa is REFUSED at once: a lab has no way out, so
there is no upstream server to forward to (CoreDNS would forward to the node's resolv.conf).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

TTL = 5
SCHEMA_VERSION = "1.1.0"
REVERSE_ZONE = "in-addr.arpa"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Record:
    name: str  # lower case, no trailing dot
    type: str  # A, CNAME, SRV, PTR, TXT
    value: str  # A: address; CNAME/PTR: target; SRV: "priority weight port target"; TXT: text
    ttl: int = TTL


@dataclass(frozen=True)
class Answer:
    rcode: str  # NOERROR, NXDOMAIN, REFUSED
    records: tuple[Record, ...] = ()
    authoritative: bool = True


@dataclass
class Zone:
    domain: str
    records: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, type: str, value: str) -> None:
        record = Record(name.lower(), type, value)
        if record not in self.records[record.name]:
            self.records[record.name].append(record)

    def exists(self, name: str) -> bool:
        """The name has records, or names below it do (an empty non-terminal)."""
        if self.records.get(name):
            return True
        suffix = "." + name
        return any(other.endswith(suffix) for other in self.records)


def dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def _ports(service: Obj) -> list[Obj]:
    return [p for p in (service.get("spec") or {}).get("ports") or [] if p.get("name")]


def _endpoints(service: Obj, slices: Iterable[Obj]) -> list[tuple[str, Obj, list[Obj]]]:
    """(address, endpoint, slice ports) for each endpoint that counts."""
    everyone = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    found = []
    for endpoint_slice in slices:
        if endpoint_slice.get("addressType", "IPv4") != "IPv4":
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            ready = (endpoint.get("conditions") or {}).get("ready")
            if ready is False and not everyone:
                continue
            for address in endpoint.get("addresses") or []:
                found.append((address, endpoint, endpoint_slice.get("ports") or []))
    return found


def build_zone(services: Iterable[Obj], slices: Iterable[Obj], domain: str) -> Zone:
    """The records of every Service (and its EndpointSlices) in the cluster domain."""
    zone = Zone(domain.lower())
    zone.add(f"dns-version.{zone.domain}", "TXT", SCHEMA_VERSION)
    by_service: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for endpoint_slice in slices:
        metadata = endpoint_slice.get("metadata") or {}
        owner = (metadata.get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            by_service[(metadata.get("namespace") or "", owner)].append(endpoint_slice)
    for service in services:
        metadata, spec = service.get("metadata") or {}, service.get("spec") or {}
        namespace, name = metadata.get("namespace") or "", metadata.get("name") or ""
        fqdn = f"{name}.{namespace}.svc.{zone.domain}".lower()
        if spec.get("type") == "ExternalName":
            zone.add(fqdn, "CNAME", str(spec.get("externalName") or "").rstrip(".").lower())
            continue
        cluster_ip = spec.get("clusterIP")
        if cluster_ip and cluster_ip != "None":
            for ip in spec.get("clusterIPs") or [cluster_ip]:
                if ipaddress.ip_address(ip).version == 4:
                    zone.add(fqdn, "A", ip)
                    zone.add(reverse_name(ip), "PTR", fqdn)
            for port in _ports(service):
                proto = str(port.get("protocol") or "TCP").lower()
                zone.add(f"_{port['name']}._{proto}.{fqdn}", "SRV", f"0 100 {port['port']} {fqdn}")
            continue
        for address, endpoint, slice_ports in _endpoints(service, by_service[(namespace, name)]):
            host = f"{endpoint.get('hostname') or dashed(address)}.{fqdn}".lower()
            zone.add(fqdn, "A", address)
            zone.add(host, "A", address)
            zone.add(reverse_name(address), "PTR", host)
            for port in slice_ports:
                if port.get("name") and port.get("port"):
                    proto = str(port.get("protocol") or "TCP").lower()
                    zone.add(f"_{port['name']}._{proto}.{fqdn}", "SRV",
                             f"0 100 {port['port']} {host}")
    return zone


def _pod_address(name: str, zone: Zone) -> str | None:
    """`a-b-c-d.<ns>.pod.<zone>` -> a.b.c.d ("pods insecure": any well-formed name)."""
    suffix = f".pod.{zone.domain}"
    if not name.endswith(suffix):
        return None
    labels = name[: -len(suffix)].split(".")
    if len(labels) != 2:
        return None
    try:
        return str(ipaddress.IPv4Address(labels[0].replace("-", ".")))
    except ValueError:
        return None


def answer(zone: Zone, qname: str, qtype: str) -> Answer:
    """What the server says to one question."""
    name = qname.rstrip(".").lower()
    in_zone = name == zone.domain or name.endswith("." + zone.domain)
    in_reverse = name == REVERSE_ZONE or name.endswith("." + REVERSE_ZONE)
    if not in_zone and not in_reverse:
        return Answer("REFUSED", authoritative=False)
    pod_ip = _pod_address(name, zone)
    if pod_ip is not None:
        return Answer("NOERROR", (Record(name, "A", pod_ip),) if qtype in ("A", "ANY") else ())
    records = zone.records.get(name) or []
    cname = [r for r in records if r.type == "CNAME"]
    if cname and qtype != "CNAME":
        return Answer("NOERROR", tuple(cname))
    if records or zone.exists(name) or name == zone.domain:
        wanted = tuple(r for r in records if qtype in (r.type, "ANY"))
        return Answer("NOERROR", wanted)
    return Answer("NXDOMAIN")
