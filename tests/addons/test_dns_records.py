"""The cluster zone and the answers of the DNS specification (nodelab/addons/dns/records.py)."""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from nodelab.addons.dns.records import Answer, Record, answer, build_zone
from nodelab.addons.dns.server import reply_for

pytestmark = pytest.mark.unit
D = "cluster.local"


def service(name: str, cluster_ip: str = "10.96.0.20", ns: str = "default",
            **spec: Any) -> dict[str, Any]:
    ports = [{"name": "http", "port": 80, "protocol": "TCP"},
             {"name": "dns", "port": 53, "protocol": "UDP"}, {"port": 9000}]
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": cluster_ip, "ports": ports, **spec}}


def slice_of(svc: str, *endpoints: dict[str, Any], ns: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": f"{svc}-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": list(endpoints),
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def ep(ip: str, ready: bool = True, hostname: str | None = None) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        endpoint["hostname"] = hostname
    return endpoint


ZONE = build_zone(
    [service("web"), service("db", "None"), service("all", "None", publishNotReadyAddresses=True),
     service("ext", "", type="ExternalName", externalName="example.org."),
     service("web", "10.96.0.30", ns="team")],
    [slice_of("web", ep("10.244.0.5")),
     slice_of("db", ep("10.244.0.6", hostname="db-0"), ep("10.244.1.7"), ep("10.244.1.8", False)),
     slice_of("all", ep("10.244.1.9", False))],
    D)


def values(result: Answer) -> list[str]:
    return sorted(r.value for r in result.records)


@pytest.mark.parametrize(("qname", "qtype", "rcode", "expected"), [
    ("web.default.svc.cluster.local", "A", "NOERROR", ["10.96.0.20"]),
    ("WEB.Default.svc.cluster.local.", "A", "NOERROR", ["10.96.0.20"]),
    ("web.team.svc.cluster.local", "A", "NOERROR", ["10.96.0.30"]),
    ("web.default.svc.cluster.local", "AAAA", "NOERROR", []),
    ("_http._tcp.web.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 100 80 web.default.svc.cluster.local"]),
    ("_dns._udp.web.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 100 53 web.default.svc.cluster.local"]),
    ("20.0.96.10.in-addr.arpa", "PTR", "NOERROR", ["web.default.svc.cluster.local"]),
    ("db.default.svc.cluster.local", "A", "NOERROR", ["10.244.0.6", "10.244.1.7"]),
    ("db-0.db.default.svc.cluster.local", "A", "NOERROR", ["10.244.0.6"]),
    ("10-244-1-7.db.default.svc.cluster.local", "A", "NOERROR", ["10.244.1.7"]),
    ("10-244-1-8.db.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("_http._tcp.db.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 100 8080 10-244-1-7.db.default.svc.cluster.local",
      "0 100 8080 db-0.db.default.svc.cluster.local"]),
    ("6.0.244.10.in-addr.arpa", "PTR", "NOERROR", ["db-0.db.default.svc.cluster.local"]),
    ("all.default.svc.cluster.local", "A", "NOERROR", ["10.244.1.9"]),
    ("ext.default.svc.cluster.local", "A", "NOERROR", ["example.org"]),
    ("10-244-3-4.default.pod.cluster.local", "A", "NOERROR", ["10.244.3.4"]),
    ("10-244-3.default.pod.cluster.local", "A", "NXDOMAIN", []),
    ("dns-version.cluster.local", "TXT", "NOERROR", ["1.1.0"]),
    ("default.svc.cluster.local", "A", "NOERROR", []),
    ("cluster.local", "SOA", "NOERROR", []),
    ("nope.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("web.default.svc.cluster.local.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("9.9.9.9.in-addr.arpa", "PTR", "NXDOMAIN", []),
    ("kubernetes.io", "A", "REFUSED", []),
])
def test_answers(qname: str, qtype: str, rcode: str, expected: list[str]) -> None:
    result = answer(ZONE, qname, qtype)
    assert (result.rcode, values(result)) == (rcode, expected)


def test_external_name_answers_its_cname_for_any_type() -> None:
    result = answer(ZONE, "ext.default.svc.cluster.local", "AAAA")
    assert result.records == (Record("ext.default.svc.cluster.local", "CNAME", "example.org"),)


def test_a_service_that_goes_away_goes_from_the_zone() -> None:
    zone = build_zone([], [slice_of("web", ep("10.244.0.5"))], D)
    assert answer(zone, "web.default.svc.cluster.local", "A").rcode == "NXDOMAIN"


def test_reply_carries_records_and_the_soa_where_there_are_none() -> None:
    request = DNSRecord.question("web.default.svc.cluster.local", "A")
    reply = reply_for(request, answer(ZONE, "web.default.svc.cluster.local", "A"), D)
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa == 1
    assert [(str(rr.rname), str(rr.rdata), rr.ttl) for rr in reply.rr] == [
        ("web.default.svc.cluster.local.", "10.96.0.20", 5)]
    missing = DNSRecord.question("nope.default.svc.cluster.local", "A")
    reply = reply_for(missing, answer(ZONE, "nope.default.svc.cluster.local", "A"), D)
    assert reply.header.rcode == RCODE.NXDOMAIN
    assert [QTYPE[rr.rtype] for rr in reply.auth] == ["SOA"]
    outside = DNSRecord.question("kubernetes.io", "A")
    reply = reply_for(outside, answer(ZONE, "kubernetes.io", "A"), D)
    assert (reply.header.rcode, reply.header.aa, reply.rr) == (RCODE.REFUSED, 0, [])
