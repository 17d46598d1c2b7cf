"""The cluster DNS server: the zone of `records.py`, answered over UDP and TCP with dnslib.

Two reflectors (Services, EndpointSlices) keep their lists current; every change rebuilds the
zone (small: one lab), and queries read whichever zone is current. As CoreDNS's `health` and
`ready` plugins do, `/health` on :8080 answers OK while the process runs and `/ready` on :8181
answers OK once both lists have been read, so the Deployment's probes mean what they mean
upstream.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dnslib import CNAME as CNAMERecord
from dnslib import PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A, DNSRecord
from dnslib.server import DNSLogger, DNSServer

from nodelab.addons.dns.records import Answer, Record, Zone, answer, build_zone
from nodelab.addons.incluster import InCluster, Reflector

log = logging.getLogger(__name__)

DNS_PORT = 53
HEALTH_PORT = 8080
READY_PORT = 8181


def _rdata(record: Record) -> Any:
    if record.type == "A":
        return A(record.value)
    if record.type == "CNAME":
        return CNAMERecord(record.value + ".")
    if record.type == "PTR":
        return PTR(record.value + ".")
    if record.type == "TXT":
        return TXT(record.value)
    priority, weight, port, target = record.value.split()
    return SRV(int(priority), int(weight), int(port), target + ".")


def soa(domain: str) -> RR:
    return RR(domain + ".", QTYPE.SOA, ttl=5,
              rdata=SOA(f"ns.dns.{domain}.", f"hostmaster.{domain}.",
                        (1, 7200, 1800, 86400, 5)))


def reply_for(request: DNSRecord, result: Answer, domain: str) -> DNSRecord:
    """The DNS message answering `request` with `result` (pure: no sockets)."""
    reply = request.reply(ra=0, aa=1 if result.authoritative else 0)
    reply.header.rcode = getattr(RCODE, result.rcode)
    for record in result.records:
        reply.add_answer(RR(record.name + ".", getattr(QTYPE, record.type), ttl=record.ttl,
                            rdata=_rdata(record)))
    if result.rcode == "NXDOMAIN" or (result.rcode == "NOERROR" and not result.records):
        reply.add_auth(soa(domain))
    return reply


class ClusterResolver:
    """dnslib's resolver interface over the current zone."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.zone = Zone(domain)

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        qtype = QTYPE.get(request.q.qtype, str(request.q.qtype))
        result = answer(self.zone, str(request.q.qname), str(qtype))
        return reply_for(request, result, self.domain)


class _Health(BaseHTTPRequestHandler):
    ready: Callable[[], bool] = staticmethod(lambda: True)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        ok = self.path == "/health" or (self.path == "/ready" and self.ready())
        body = b"OK" if ok else b"not ready"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(domain: str, client: InCluster, stop: threading.Event) -> None:
    """Run until `stop` is set: reflectors, the UDP and TCP servers, the health endpoints."""
    resolver = ClusterResolver(domain)
    lock = threading.Lock()  # one rebuild at a time: the later snapshot is the one kept

    def rebuild() -> None:  # called from the reflectors' threads, started below
        with lock:
            resolver.zone = build_zone(services.snapshot(), slices.snapshot(), domain)

    services = Reflector(client, "/api/v1/services", rebuild)
    slices = Reflector(client, "/apis/discovery.k8s.io/v1/endpointslices", rebuild)
    reflectors = (services, slices)
    for reflector in reflectors:
        threading.Thread(target=reflector.run, args=(stop,), daemon=True,
                         name=f"reflector {reflector.path}").start()
    quiet = DNSLogger("-recv,-send,-request,-reply,-truncated,-data", prefix=False)
    servers = [DNSServer(resolver, port=DNS_PORT, tcp=tcp, logger=quiet) for tcp in (False, True)]
    for server in servers:
        server.start_thread()
    handler = type("Health", (_Health,), {
        "ready": staticmethod(lambda: all(r.synced.is_set() for r in reflectors))})
    http_servers = [ThreadingHTTPServer(("", port), handler) for port in (HEALTH_PORT, READY_PORT)]
    for http_server in http_servers:
        threading.Thread(target=http_server.serve_forever, daemon=True).start()
    log.info("serving %s on port %d (udp, tcp)", domain, DNS_PORT)
    stop.wait()
    for http_server in http_servers:
        http_server.shutdown()
    for server in servers:
        server.stop()
