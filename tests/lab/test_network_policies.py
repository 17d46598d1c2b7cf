"""NetworkPolicies enforced on a real lab, with real traffic between pods this test makes: the
"Declare Network Policy" task (a Service in front of a web pod; once a policy admits only pods
labelled access=true, a client with the label gets the page and one without it times out),
replies of an allowed connection pass although the client itself is isolated for ingress, a
default-deny egress policy stops the client, and deleting the policies opens the way again.

Each step waits for what podnet writes (its nft table in the node's namespace, which a learner
can read with `nft list table inet nodelab-netpol`) before it sends traffic.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from nodelab.host.doctor import check_br_netfilter
from nodelab.lab.lab import Lab
from tests.lab.kube import KUBECTL, eventually, in_node, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow]
NS = "netpol-task"


@pytest.fixture(scope="module")
def lab(cluster: Lab) -> Iterator[Lab]:
    bridged = check_br_netfilter()  # all these pods share one node: their traffic is bridged
    if not bridged.ok:
        pytest.skip(f"same-node NetworkPolicies need br_netfilter: {bridged.detail} "
                    f"({bridged.fix})")
    busybox, web = cluster.images.ref("busybox"), cluster.images.ref("web")
    kubectl(cluster, "create", "namespace", NS)
    kubectl(cluster, "-n", NS, "run", "web", f"--image={web}", "--port=8080",
            "--labels=app=web")
    kubectl(cluster, "-n", NS, "expose", "pod", "web", "--port=80", "--target-port=8080")
    kubectl(cluster, "-n", NS, "run", "allowed", f"--image={busybox}", "--labels=access=true",
            "--", "sleep", "3600")
    kubectl(cluster, "-n", NS, "run", "denied", f"--image={busybox}", "--", "sleep", "3600")
    kubectl(cluster, "-n", NS, "wait", "--for=condition=Ready", "pod/web", "pod/allowed",
            "pod/denied", "--timeout=90s")
    yield cluster
    kubectl(cluster, "delete", "namespace", NS, "--wait=false", check=False)


def fetch(lab: Lab, client: str) -> subprocess.CompletedProcess[str]:
    """The task's `wget --spider --timeout=1 nginx`, through the Service's ClusterIP."""
    return subprocess.run([KUBECTL, "--kubeconfig", str(lab.kubeconfig), "-n", NS, "exec",
                           client, "--", "wget", "-qO-", "-T", "2", "http://web/"],
                          capture_output=True, text=True, timeout=60)


def apply(lab: Lab, name: str, spec: dict[str, Any]) -> None:
    kubectl(lab, "-n", NS, "apply", "-f", "-", input=json.dumps({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name}, "spec": spec}))


def table(lab: Lab) -> str:
    return in_node(lab, "nft", "list", "table", "inet", "nodelab-netpol").stdout


def pod_ip(lab: Lab, name: str) -> str:
    return str(kubectl_json(lab, "-n", NS, "get", "pod", name)["status"]["podIP"])


def test_the_declare_network_policy_task(lab: Lab) -> None:
    # no policy: every pod reaches web, once the new Service's rules and DNS name are in place
    eventually(lambda: fetch(lab, "denied").returncode == 0, timeout=60)
    apply(lab, "access-web", {"podSelector": {"matchLabels": {"app": "web"}},
                              "ingress": [{"from": [{"podSelector": {"matchLabels": {
                                  "access": "true"}}}]}]})
    allowed = pod_ip(lab, "allowed")
    eventually(lambda: f"ip saddr {allowed} accept" in table(lab))
    rows = kubectl(lab, "-n", NS, "get", "netpol").splitlines()
    assert rows[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    assert rows[1].split()[:2] == ["access-web", "app=web"]
    assert "chain ingress-netpol-task/web" in table(lab)
    got = fetch(lab, "allowed")
    assert got.returncode == 0 and got.stdout, got.stderr
    refused = fetch(lab, "denied")
    assert refused.returncode != 0 and "timed out" in refused.stderr, refused


def test_replies_pass_when_the_client_is_isolated_for_ingress(lab: Lab) -> None:
    apply(lab, "isolate-clients", {"podSelector": {"matchLabels": {"access": "true"}},
                                   "policyTypes": ["Ingress"]})
    eventually(lambda: "chain ingress-netpol-task/allowed" in table(lab))
    got = fetch(lab, "allowed")
    assert got.returncode == 0 and got.stdout, got.stderr


def test_default_deny_egress_then_deleting_the_policies(lab: Lab) -> None:
    apply(lab, "deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
    eventually(lambda: "chain egress-netpol-task/allowed" in table(lab))
    refused = fetch(lab, "allowed")
    assert refused.returncode != 0, refused
    kubectl(lab, "-n", NS, "delete", "netpol", "--all")
    eventually(lambda: "netpol-task/" not in table(lab))
    got = fetch(lab, "denied")
    assert got.returncode == 0 and got.stdout, got.stderr
