"""Cluster DNS on a real lab: the kube-dns Service answers the DNS specification to a real
resolver (`dig` in the node's namespace) and to `nslookup`/`wget` inside pods, and every pod's
resolv.conf follows its dnsPolicy (nodelab/addons/dns, nodelab/lab/addons/cluster_dns.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab
from tests.faults.invariants import rule_endpoints
from tests.lab.kube import eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow]
DNS = "10.96.0.10"
NODE_RESOLV = "/etc/resolv.conf"


def manifest(lab: Lab) -> str:
    web, busybox = lab.images.ref("web"), lab.images.ref("busybox")
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: dnsweb}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: dnsweb}}}}
  template:
    metadata: {{labels: {{app: dnsweb}}}}
    spec:
      containers:
      - {{name: web, image: {web}, ports: [{{name: http, containerPort: 8080}}],
          readinessProbe: {{httpGet: {{path: /healthz, port: 8080}}, periodSeconds: 1}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: dnsweb}}
spec:
  selector: {{app: dnsweb}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: dnsdb}}
spec:
  clusterIP: None
  selector: {{app: dnsweb}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: dnsclient}}
spec:
  containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: dnsdefault}}
spec:
  dnsPolicy: Default
  containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: dnsnone}}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.53]
    searches: [example.test]
    options: [{{name: ndots, value: "2"}}]
  containers: [{{name: c, image: {busybox}, command: [sleep, "3600"]}}]
"""


def web_ips(lab: Lab) -> set[str]:
    pods = kubectl_json(lab, "get", "pods", "-l", "app=dnsweb")["items"]
    return {p["status"]["podIP"] for p in pods
            if any(c["type"] == "Ready" and c["status"] == "True"
                   for c in p["status"].get("conditions") or [])}


def ready_in_headless_slice(lab: Lab) -> set[str]:
    slices = kubectl_json(lab, "get", "endpointslices", "-l",
                          "kubernetes.io/service-name=dnsdb")["items"]
    return {a for s in slices for e in s.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready") for a in e["addresses"]}


@pytest.fixture(scope="module")
def lab(cluster: Lab) -> Iterator[Lab]:
    kubectl(cluster, "apply", "-f", "-", input=manifest(cluster))
    kubectl(cluster, "wait", "--for=condition=Ready", "pod/dnsclient", "pod/dnsdefault",
            "pod/dnsnone", "--timeout=90s")
    eventually(lambda: len(ready_in_headless_slice(cluster)) == 2, timeout=90)
    # what the tests read: the DNS server's records of both Services (from its own watch of
    # Services and EndpointSlices), and kube-proxy's rules to the web pods (wget http://dnsweb)
    ips = web_ips(cluster)
    eventually(lambda: short(cluster, "dnsdb.default.svc.cluster.local") == sorted(ips)
               and short(cluster, "dnsweb.default.svc.cluster.local") != [], timeout=60)
    eventually(lambda: {f"{ip}:8080" for ip in ips} <= rule_endpoints(cluster), timeout=60)
    yield cluster
    kubectl(cluster, "delete", "-f", "-", "--wait=false", input=manifest(cluster), check=False)


def dig(lab: Lab, *args: str) -> str:
    result = subprocess.run(["ip", "netns", "exec", lab.topology.nodes[0].netns, "dig",
                             "+time=2", "+tries=2", f"@{DNS}", *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def short(lab: Lab, *args: str) -> list[str]:
    return sorted(dig(lab, "+short", *args).split("\n")[:-1])


def status(lab: Lab, *args: str) -> str:
    header = next(line for line in dig(lab, *args).splitlines() if "status:" in line)
    return header.split("status: ")[1].split(",")[0]


def in_pod(lab: Lab, pod: str, *argv: str) -> subprocess.CompletedProcess[str]:
    from tests.lab.kube import KUBECTL

    return subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "exec", pod, "--",
                           *argv], capture_output=True, text=True, timeout=60)


def test_a_cluster_ip_service_has_a_srv_and_ptr_records(lab: Lab) -> None:
    cluster_ip = kubectl_json(lab, "get", "service", "dnsweb")["spec"]["clusterIP"]
    assert short(lab, "dnsweb.default.svc.cluster.local") == [cluster_ip]
    assert short(lab, "SRV", "_http._tcp.dnsweb.default.svc.cluster.local") == [
        "0 100 80 dnsweb.default.svc.cluster.local."]
    assert short(lab, "-x", cluster_ip) == ["dnsweb.default.svc.cluster.local."]
    assert short(lab, "+tcp", "kube-dns.kube-system.svc.cluster.local") == [DNS]


def test_a_headless_service_answers_its_ready_pods(lab: Lab) -> None:
    ips = web_ips(lab)
    assert short(lab, "dnsdb.default.svc.cluster.local") == sorted(ips)
    srv = short(lab, "SRV", "_http._tcp.dnsdb.default.svc.cluster.local")
    assert sorted(s.split()[3] for s in srv) == sorted(
        f"{ip.replace('.', '-')}.dnsdb.default.svc.cluster.local." for ip in ips)
    one = sorted(ips)[0]
    assert short(lab, f"{one.replace('.', '-')}.dnsdb.default.svc.cluster.local") == [one]


def test_pod_names_missing_names_and_names_outside(lab: Lab) -> None:
    assert short(lab, "10-244-9-9.default.pod.cluster.local") == ["10.244.9.9"]
    assert status(lab, "nothing.default.svc.cluster.local") == "NXDOMAIN"
    assert status(lab, "kubernetes.io") == "REFUSED"
    assert short(lab, "TXT", "dns-version.cluster.local") == ['"1.1.0"']


def test_a_pod_resolves_services_by_short_name(lab: Lab) -> None:
    resolv = in_pod(lab, "dnsclient", "cat", "/etc/resolv.conf").stdout
    assert resolv.splitlines() == ["search default.svc.cluster.local svc.cluster.local "
                                   "cluster.local", f"nameserver {DNS}", "options ndots:5"]
    looked_up = in_pod(lab, "dnsclient", "nslookup", "dnsweb")
    cluster_ip = kubectl_json(lab, "get", "service", "dnsweb")["spec"]["clusterIP"]
    assert f"Name:\tdnsweb.default.svc.cluster.local\nAddress: {cluster_ip}" in looked_up.stdout
    page = in_pod(lab, "dnsclient", "wget", "-qO-", "-T", "5", "http://dnsweb/")
    assert page.returncode == 0 and page.stdout.startswith("hello from dnsweb-"), page.stderr
    outside = in_pod(lab, "dnsclient", "nslookup", "kubernetes.io")
    assert "REFUSED" in outside.stdout and "timed out" not in outside.stdout


def test_dns_policies_default_and_none(lab: Lab) -> None:
    with open(NODE_RESOLV) as node:
        node_servers = [line for line in node.read().splitlines()
                        if line.startswith("nameserver")]
    default = in_pod(lab, "dnsdefault", "cat", "/etc/resolv.conf").stdout.splitlines()
    assert [line for line in default if line.startswith("nameserver")] == node_servers
    assert in_pod(lab, "dnsnone", "cat", "/etc/resolv.conf").stdout.splitlines() == [
        "search example.test", "nameserver 192.0.2.53", "options ndots:2"]


def test_a_deleted_service_leaves_the_zone(lab: Lab) -> None:
    kubectl(lab, "create", "service", "clusterip", "dnsgone", "--tcp=80:8080")
    eventually(lambda: short(lab, "dnsgone.default.svc.cluster.local") != [], timeout=30)
    kubectl(lab, "delete", "service", "dnsgone")
    eventually(lambda: status(lab, "dnsgone.default.svc.cluster.local") == "NXDOMAIN",
               timeout=30)
