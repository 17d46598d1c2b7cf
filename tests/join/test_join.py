"""`nodelab join`, tested as the issue asks: an embedded lab A plays the foreign cluster, and a
joined lab B is given nothing but a copy of A's admin kubeconfig file.

One module-scoped pair (A: 1 node, B: 1 node): B's node registers tainted and Ready with
approved CSRs; a tolerating pod runs on B from B's registry, `kubectl logs`/`exec` reach it
through A's API server (which verifies B's CSR-issued serving certificate); B's kube-proxy
DNATs a Service to it; a pod without the toleration never lands on B; `down` of B removes its
Node from A and leaves no residue.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID

from nodelab.errors import NodelabError
from nodelab.host import netlink
from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.join.foreign import foreign_cluster
from tests.lab.kube import KUBECTL, eventually, kubectl, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Lab, Lab]]:
    b_name = unique_lab_name()
    with foreign_cluster() as (a, given):
        try:
            b = Lab.join(given, b_name, 1, allow_registries=["registry.invalid"],
                         progress=lambda _m: None)
            yield a, b
        finally:
            take_down_lab(b_name)


def b_node(b: Lab) -> str:
    return f"{b.name}-node1"


def requested_cn(csr: dict[str, Any]) -> str:
    request = x509.load_pem_x509_csr(base64.b64decode(csr["spec"]["request"]))
    return str(request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def test_b_kube_proxy_and_podnet_have_their_own_identities(pair: tuple[Lab, Lab]) -> None:
    """Not the admin kubeconfig B was given: certificates from A's CSR API, and A's RBAC gives
    them only their jobs (kube-proxy cannot create pods, podnet cannot list services)."""
    _, b = pair
    for name, user, allowed, denied in (
            ("kube-proxy", "system:kube-proxy", "list endpointslices.discovery.k8s.io",
             "create pods"),
            ("podnet", "nodelab:podnet", "watch nodes", "list services")):
        path = b.paths.root / f"{name}.kubeconfig"
        doc = yaml.safe_load(path.read_text())
        cert = x509.load_pem_x509_certificate(base64.b64decode(
            doc["users"][0]["user"]["client-certificate-data"]))
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == user
        for verb_resource, answer in ((allowed, "yes"), (denied, "no")):
            out = subprocess.run([KUBECTL, "--kubeconfig", str(path), "auth", "can-i",
                                  *verb_resource.split()], capture_output=True, text=True,
                                 timeout=60)
            assert out.stdout.strip() == answer, (name, verb_resource, out.stderr)


def test_b_node_registers_tainted_labelled_and_ready(pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    node = kubectl_json(a, "get", "node", b_node(b))
    assert {"key": "nodelab.dev/lab", "value": "true", "effect": "NoSchedule"} in [
        {k: t[k] for k in ("key", "value", "effect")} for t in node["spec"]["taints"]]
    assert node["metadata"]["labels"]["nodelab.dev/lab"] == b.name
    assert any(c["type"] == "Ready" and c["status"] == "True"
               for c in node["status"]["conditions"])
    assert node["spec"]["podCIDR"], "the cluster's node IPAM assigns the range"
    status = b.status()
    assert status.apiserver is not None and status.apiserver.startswith(
        a.topology.apiserver_url)
    assert [n.name for n in status.nodes] == [b_node(b)]


def test_csrs_are_approved_and_issued(pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    csrs = [c for c in kubectl_json(a, "get", "csr")["items"]
            if f"system:node:{b_node(b)}" in requested_cn(c)]
    signers = {c["spec"]["signerName"] for c in csrs}
    assert signers == {"kubernetes.io/kube-apiserver-client-kubelet",
                       "kubernetes.io/kubelet-serving"}
    serving = next(c for c in csrs if c["spec"]["signerName"].endswith("kubelet-serving"))
    assert serving["spec"]["username"] == f"system:node:{b_node(b)}"
    table = kubectl(a, "get", "csr")
    assert sum("Approved,Issued" in line and ("kubelet" in line) for line in
               table.splitlines()) >= 2


def test_tolerating_pod_runs_on_b_with_logs_exec_and_service(pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "onb", "labels": {"app": "onb"}},
        "spec": {
            "nodeSelector": {"nodelab.dev/lab": b.name},
            "tolerations": [{"key": "nodelab.dev/lab", "operator": "Exists",
                             "effect": "NoSchedule"}],
            "containers": [{"name": "web", "image": b.images.ref("web"),
                            "ports": [{"containerPort": 8080}]}],
        },
    }
    kubectl(a, "apply", "-f", "-", input=json.dumps(pod))
    running = eventually(lambda: (p := kubectl_json(a, "get", "pod", "onb")) and ready(p) and p,
                         timeout=120)
    assert running["spec"]["nodeName"] == b_node(b)
    assert running["status"]["hostIP"] == str(b.topology.nodes[0].ip)
    assert running["spec"]["containers"][0]["image"].startswith(b.topology.registry)
    assert kubectl(a, "exec", "onb", "--", "cat", "/etc/hostname").strip() == "onb"
    # served by B's kubelet, through A's API server (the wait that stood here waited for
    # nothing: kubectl() with check=False returns a string, never None)
    assert "serving" in kubectl(a, "logs", "onb")
    kubectl(a, "expose", "pod", "onb", "--port=80", "--target-port=8080", "--name=onb")
    cluster_ip = kubectl_json(a, "get", "svc", "onb")["spec"]["clusterIP"]

    def answer() -> str:
        result = subprocess.run(
            ["ip", "netns", "exec", b.topology.nodes[0].netns, "curl", "-s", "-m", "3",
             f"http://{cluster_ip}/"], capture_output=True, text=True, timeout=15)
        return result.stdout.strip()

    assert eventually(lambda: answer() == "hello from onb" and answer(), timeout=60)


def test_pods_without_the_toleration_never_land_on_b(pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    kubectl(a, "create", "deployment", "plain", f"--image={a.images.ref('web')}",
            "--replicas=3")
    pods = eventually(lambda: (items := kubectl_json(a, "get", "pods", "-l", "app=plain")
                               ["items"]) and len(items) == 3
                      and all(p["spec"].get("nodeName") for p in items) and items, timeout=60)
    assert {p["spec"]["nodeName"] for p in pods} == {"node1"}


def test_allowed_registries_only_through_the_labs_connect_proxy(pair: tuple[Lab, Lab]) -> None:
    _a, b = pair
    daemons = {d.name: d for d in b.status().daemons}
    assert daemons["registryproxy"].state == "running"
    runtime = next(d for n in b.status().nodes for d in n.daemons
                   if d.name.endswith("/runtime"))
    environ = Path(f"/proc/{runtime.pid}/environ").read_bytes().split(b"\0")
    proxy = f"http://{b.topology.gateway}:3128"
    assert f"https_proxy={proxy}".encode() in environ
    refused = subprocess.run(
        ["ip", "netns", "exec", b.topology.nodes[0].netns, "curl", "-s", "-o", "/dev/null",
         "-w", "%{http_connect}", "-x", proxy, "https://example.com/"],
        capture_output=True, text=True, timeout=15)
    assert refused.stdout == "403"  # refused at the gateway: nothing left the machine


def test_up_and_join_refuse_the_other_kind_of_lab(pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    with pytest.raises(NodelabError, match="is a joined lab"):
        Lab.up(b.name, 1, progress=lambda _m: None)
    with pytest.raises(NodelabError, match="is an embedded lab"):
        Lab.join(a.kubeconfig, a.name, 1, progress=lambda _m: None)
    again = Lab.join(b.paths.root / "cluster.kubeconfig", b.name, 1,
                     allow_registries=["registry.invalid"], progress=lambda _m: None)
    assert again.description == b.description  # a second join only checks
    with pytest.raises(NodelabError, match="allowed registries"):
        Lab.join(b.paths.root / "cluster.kubeconfig", b.name, 1, progress=lambda _m: None)


def test_down_removes_the_node_from_the_cluster_and_leaves_nothing(
        pair: tuple[Lab, Lab]) -> None:
    a, b = pair
    said: list[str] = []
    take_down_lab(b.name, progress=said.append)
    assert any(f"removed Node {b_node(b)}" in line for line in said), said
    gone = kubectl(a, "get", "node", b_node(b), check=False)
    assert gone == ""
    assert not [n for n in netlink.list_netns() if n.startswith(f"nl{b.name}-")]
    assert not [link for link in netlink.link_names() if link.startswith(f"nl{b.name}-")]
    assert not b.paths.root.exists()
    assert [n["metadata"]["name"] for n in kubectl_json(a, "get", "nodes")["items"]] == [
        "node1"]
    assert not [c["metadata"]["name"] for c in kubectl_json(a, "get", "csr")["items"]
                if b_node(b) in requested_cn(c)]  # down deletes the lab's CSRs
    assert any("removed CertificateSigningRequest" in line for line in said), said
