"""A three-node lab: pod ranges per node, pod-to-pod traffic across nodes (host-gw routes),
Services whose endpoints are on other nodes, a NodePort answering on every node, and a
NetworkPolicy enforced between nodes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.lab.kube import KUBECTL, eventually, in_node, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


@pytest.fixture(scope="module")
def cluster3() -> Iterator[Lab]:
    name = unique_lab_name()
    try:
        yield Lab.up(name, 3, progress=lambda _m: None)
    finally:
        take_down_lab(name)


def by_node(pods: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        grouped.setdefault(pod["spec"]["nodeName"], []).append(pod)
    return grouped


def test_pods_spread_and_reach_each_other_across_nodes(cluster3: Lab) -> None:
    nodes = kubectl_json(cluster3, "get", "nodes")["items"]
    cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}
    assert len(set(cidrs.values())) == 3
    kubectl(cluster3, "create", "deployment", "web", f"--image={cluster3.images.ref('web')}",
            "--replicas=6")
    pods = eventually(lambda: len(ready_pods(cluster3, "app=web")) == 6
                      and ready_pods(cluster3, "app=web"), timeout=90)
    grouped = by_node(pods)
    assert set(grouped) == {"node1", "node2", "node3"}, {k: len(v) for k, v in grouped.items()}
    for node, members in grouped.items():
        prefix = cidrs[node].rsplit(".", 1)[0] + "."
        assert all(p["status"]["podIP"].startswith(prefix) for p in members)
    source = grouped["node1"][0]["metadata"]["name"]
    for target in (grouped["node2"][0], grouped["node3"][0]):
        reply = kubectl(cluster3, "exec", source, "--", "sh", "-c",
                        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {target['status']['podIP']} "
                        "8080 | tail -1")
        assert reply.strip() == f"hello from {target['metadata']['name']}"


def test_service_endpoints_on_other_nodes_and_nodeport_everywhere(cluster3: Lab) -> None:
    eventually(lambda: len(ready_pods(cluster3, "app=web")) == 6, timeout=90)
    kubectl(cluster3, "expose", "deployment", "web", "--port=80", "--target-port=8080",
            "--type=NodePort", "--name=webnp")
    service = kubectl_json(cluster3, "get", "svc", "webnp")
    node_port = service["spec"]["ports"][0]["nodePort"]
    cluster_ip = service["spec"]["clusterIP"]
    names = {p["metadata"]["name"] for p in ready_pods(cluster3, "app=web")}

    def seen_from_node1() -> set[str]:
        replies = set()
        for _ in range(40):
            out = in_node(cluster3, "curl", "-s", "-m", "2", f"http://{cluster_ip}/").stdout
            replies.add(out.strip().split()[-1] if out.strip() else "")
        return replies

    assert eventually(lambda: (s := seen_from_node1()) >= names and s, timeout=30)
    # node1's kube-proxy has synced; each node's own has its NodePort rules in its own time
    for node in cluster3.topology.nodes:
        def answers(ip: str = str(node.ip)) -> bool:
            reply = in_node(cluster3, "curl", "-s", "-m", "2", f"http://{ip}:{node_port}/")
            return reply.stdout.startswith("hello from web-")

        assert eventually(answers, timeout=30), node.name


def test_network_policy_across_nodes(cluster3: Lab) -> None:
    """A NetworkPolicy between pods on different nodes: the receiver's node enforces its
    ingress rules (node2 lets only access=true in), the sender's node its egress rules (node3's
    default-deny egress stops its client); docs/cni.md."""
    lab, ns = cluster3, "netpol-nodes"
    kubectl(lab, "create", "namespace", ns)
    web, busybox = lab.images.ref("web"), lab.images.ref("busybox")
    for name, image, node, labels in (("server", web, "node2", "app=server"),
                                      ("allowed", busybox, "node1", "access=true"),
                                      ("denied", busybox, "node1", "access=false"),
                                      ("egress-client", busybox, "node3", "access=true")):
        command = [] if image == web else ["--", "sleep", "3600"]
        kubectl(lab, "-n", ns, "run", name, f"--image={image}", f"--labels={labels}",
                f'--overrides={{"apiVersion": "v1", "spec": {{"nodeName": "{node}"}}}}',
                *command)
    kubectl(lab, "-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=90s")
    server = kubectl_json(lab, "-n", ns, "get", "pod", "server")["status"]["podIP"]

    def fetch(client: str) -> bool:
        return subprocess.run(
            [KUBECTL, "--kubeconfig", str(lab.kubeconfig), "-n", ns, "exec", client, "--",
             "wget", "-qO-", "-T", "2", f"http://{server}:8080/"],
            capture_output=True, text=True, timeout=60).returncode == 0

    def table(node: str) -> str:
        return lab.node(node).exec(["nft", "list", "table", "inet", "nodelab-netpol"]).stdout

    kubectl(lab, "-n", ns, "apply", "-f", "-", input=json.dumps({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "access-server"},
        "spec": {"podSelector": {"matchLabels": {"app": "server"}},
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"access": "true"}}}]}],
                 }}))
    clients = [kubectl_json(lab, "-n", ns, "get", "pod", name)["status"]["podIP"]
               for name in ("allowed", "egress-client")]
    eventually(lambda: all(ip in table("node2") for ip in clients))
    assert fetch("allowed")
    assert not fetch("denied")
    assert fetch("egress-client")
    kubectl(lab, "-n", ns, "apply", "-f", "-", input=json.dumps({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny-egress"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}))
    eventually(lambda: f"chain egress-{ns}/egress-client" in table("node3"))
    assert not fetch("egress-client")
    kubectl(lab, "delete", "namespace", ns, "--wait=false")
