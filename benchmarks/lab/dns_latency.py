"""Cluster DNS query latency from a pod, beside a dnslib server on loopback.

    sudo .venv/bin/python benchmarks/lab/dns_latency.py [--queries 1000] [--out PATH]

Brings up a fresh one-node lab (`bm<id>`), waits for the cluster DNS (the `kube-dns` Service at
10.96.0.10, a Deployment in kube-system) to have a ready endpoint, and runs a busybox pod
`client`. A small client (dnslib to build and read the messages, one UDP socket, one query at a
time, each timed from send to the matching reply) then runs **in the pod's network
namespace**: the pod's own eth0, routes and DNS address, so its packets take the path a
process in the container takes (veth to the node, kube-proxy's DNAT of 10.96.0.10:53 to the
DNS pod, the DNS server's lookup, and back). Cases, `--queries` each, in 10 interleaved rounds
(the order rotating; 10 unmeasured queries start each round):

- `kubernetes.default.svc.cluster.local A` to the kube-dns ClusterIP (what a pod's resolver
  sends for a Service);
- the same, straight to the DNS pod's IP (no DNAT: the share of kube-proxy's path);
- `example.org A` to the ClusterIP (a name outside the cluster: answered at once, never a
  timeout, issue #20).

The reference, measured in the same run by the same client: a dnslib `DNSServer` started by
this script on 127.0.0.1 (the root namespace, outside the cluster) answering the same name
from a fixed record, i.e. a DNS round trip with nothing of Kubernetes in it. The lab is taken
down at the end, also on failure or Ctrl-C. Results go to `--out` in the common shape
(benchmarks/schema.py).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dnslib import QTYPE, RR, A  # noqa: E402
from dnslib.server import BaseResolver, DNSLogger, DNSServer  # noqa: E402

from benchmarks.schema import Row, default_out, write_results  # noqa: E402
from nodelab.kube.resources import path  # noqa: E402
from nodelab.kube.restclient import RestClient  # noqa: E402
from nodelab.lab.lab import Lab, take_down_lab  # noqa: E402
from nodelab.widgets.pod_locator import pod_netns  # noqa: E402

SERVICE_NAME = "kubernetes.default.svc.cluster.local"
OUTSIDE_NAME = "example.org"
CLUSTER_DNS = "10.96.0.10"
WARMUP = 10
ROUNDS = 10
READY_TIMEOUT = 180.0

CLIENT = """
import json, socket, sys, time
from dnslib import DNSRecord
name, server = sys.argv[1], sys.argv[2]
port, count, warmup = (int(a) for a in sys.argv[3:6])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2.0)
samples, timeouts, rcodes, lost = [], 0, {}, []
waiting, late = {}, []  # a timed-out query's id -> (index, sent); replies that came after it


def answered_late(reply):
    # a reply to a query already counted lost: a stall (recorded with its delay), not a loss
    if bytes(reply[:2]) not in waiting:
        return
    index, sent = waiting.pop(bytes(reply[:2]))
    late.append([index, round((time.perf_counter() - sent) * 1000.0, 1)])


for i in range(warmup + count):
    query = DNSRecord.question(name, "A")
    data = query.pack()
    start = time.perf_counter()
    sock.sendto(data, (server, port))
    try:
        while True:
            reply = sock.recv(4096)
            if reply[:2] == data[:2]:
                break
            answered_late(reply)
    except socket.timeout:
        timeouts += 1
        lost.append(i)  # below warmup: an unmeasured query (the first opens the flow)
        waiting[bytes(data[:2])] = (i, start)
        continue
    elapsed = time.perf_counter() - start
    if i >= warmup:
        samples.append(elapsed * 1000.0)
        rcode = DNSRecord.parse(reply).header.rcode
        rcodes[rcode] = rcodes.get(rcode, 0) + 1
sock.settimeout(3.0)
try:
    while waiting:
        answered_late(sock.recv(4096))
except socket.timeout:
    pass
print(json.dumps({"samples": samples, "timeouts": timeouts, "rcodes": rcodes, "lost": lost,
                  "late": late}))
"""


class FixedResolver(BaseResolver):  # type: ignore[misc]
    """Answers every A question with one address, as a zone file of one record would."""

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        if request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A("10.96.0.1"), ttl=30))
        return reply


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def measure(netns: str | None, name: str, server: str, port: int, count: int) -> dict[str, Any]:
    argv = [sys.executable, "-c", CLIENT, name, server, str(port), str(count), str(WARMUP)]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True)
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def row(query: str, path_name: str, kind: str, result: dict[str, Any]) -> Row:
    samples = result["samples"]
    out: Row = {"query": query, "path": path_name, "kind": kind, "n": len(samples),
                "timeouts": result["timeouts"], "lost": result["lost"], "late": result["late"],
                "rcodes": {str(k): v for k, v in result["rcodes"].items()}}
    if samples:
        out.update(p50_ms=round(percentile(samples, 0.50), 3),
                   p99_ms=round(percentile(samples, 0.99), 3),
                   mean_ms=round(sum(samples) / len(samples), 3), max_ms=round(max(samples), 3))
    return out


def wait(check: Any, what: str) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {READY_TIMEOUT:.0f} s")


def dns_endpoint(api: RestClient) -> tuple[str, int] | None:
    slices = api.request("GET", path("endpointslices", "kube-system"),
                         query={"labelSelector": "kubernetes.io/service-name=kube-dns"})
    for item in slices.get("items") or []:
        port = next((p["port"] for p in item.get("ports") or []
                     if p.get("protocol", "TCP") == "UDP"), None)
        for endpoint in item.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") and port:
                return str(endpoint["addresses"][0]), int(port)
    return None


def client_ip(api: RestClient) -> str | None:
    pod = api.request("GET", path("pods", "default", "client"))
    ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                for c in (pod.get("status") or {}).get("conditions") or [])
    ip = (pod.get("status") or {}).get("podIP")
    return str(ip) if ready and ip else None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=default_out("dns-latency"))
    options = parser.parse_args()
    params = {"queries": options.queries, "warmup": WARMUP, "rounds": ROUNDS}
    name = "bm" + secrets.token_hex(2)
    rows: list[Row] = []
    quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
    server = DNSServer(FixedResolver(), address="127.0.0.1", port=0, logger=quiet)
    try:
        lab = Lab.up(name, 1, progress=lambda _m: None)
        api = RestClient.from_kubeconfig(lab.kubeconfig)
        dns_ip, dns_port = wait(lambda: dns_endpoint(api), "the kube-dns endpoint")
        image = lab.images.ref("busybox")
        api.request("POST", path("pods", "default"), {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "c", "image": image, "command": ["sleep", "3600"]}]}})
        ip = wait(lambda: client_ip(api), "pod client")
        netns = wait(lambda: pod_netns(lab.topology.nodes[0].netns, ip), "the pod's netns")
        server.start_thread()
        cases = [
            (SERVICE_NAME, f"pod -> kube-dns ClusterIP {CLUSTER_DNS}", "nodelab", netns,
             CLUSTER_DNS, 53),
            (SERVICE_NAME, "pod -> the DNS pod's IP (no DNAT)", "nodelab", netns, dns_ip,
             dns_port),
            (OUTSIDE_NAME, f"pod -> kube-dns ClusterIP {CLUSTER_DNS}", "nodelab", netns,
             CLUSTER_DNS, 53),
            (SERVICE_NAME, "root namespace -> dnslib on 127.0.0.1", "reference", None,
             "127.0.0.1", server.server.server_address[1]),
        ]
        # Interleaved rounds, the order rotating, so a busy spell of the machine falls on
        # every case alike rather than on whichever ran then.
        results: list[dict[str, Any]] = [
            {"samples": [], "timeouts": 0, "rcodes": {}, "lost": [], "late": []} for _ in cases]
        per_round = max(1, options.queries // ROUNDS)
        for round_no in range(ROUNDS):
            for i in [(round_no + k) % len(cases) for k in range(len(cases))]:
                query, _where, _kind, ns, address, port = cases[i]
                found = measure(ns, query, address, port, per_round)
                results[i]["samples"] += found["samples"]
                results[i]["timeouts"] += found["timeouts"]
                # where each lost query was: round and index in that run (below WARMUP: unmeasured)
                results[i]["lost"] += [f"round {round_no} query {q}" for q in found["lost"]]
                # a lost query whose reply came after the 2 s timeout: [query, its delay in ms]
                results[i]["late"] += [[f"round {round_no} query {q}", ms]
                                       for q, ms in found["late"]]
                for rcode, n in found["rcodes"].items():
                    results[i]["rcodes"][rcode] = results[i]["rcodes"].get(rcode, 0) + n
        rows = [row(f"{query} A", where, kind, results[i])
                for i, (query, where, kind, *_rest) in enumerate(cases)]
    finally:
        if server.isAlive():
            server.stop()
        take_down_lab(name)
    write_results(options.out, "dns-latency", params, rows)
    for r in rows:
        print(f"{r['query']:<45} {r['path']:<42} p50 {r.get('p50_ms')} ms  "
              f"p99 {r.get('p99_ms')} ms  timeouts {r['timeouts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
