"""The join's pure parts: the kubeconfig through the relay, and which serving CSRs `join`
approves (its own nodes', for their own name and address only)."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nodelab.errors import NodelabError
from nodelab.lab.join.kubeconfigs import ClusterAccess
from nodelab.lab.join.tls_bootstrap import client_csr, serving_refusal

pytestmark = pytest.mark.unit


def test_kubeconfig_files_are_inlined_and_relayed_keeps_tls_end_to_end(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "u.key").write_bytes(b"KEY")
    (tmp_path / "k").write_text(yaml.safe_dump({
        "current-context": "c",
        "clusters": [{"name": "kc", "cluster": {"server": "https://127.0.0.1:39017",
                                                 "certificate-authority": "ca.crt"}}],
        "users": [{"name": "ku", "user": {"client-key": str(tmp_path / "u.key"),
                                          "client-certificate-data": "Q0VSVA=="}}],
        "contexts": [{"name": "c", "context": {"cluster": "kc", "user": "ku"}}],
    }))
    access = ClusterAccess.load(tmp_path / "k")
    assert access.ca_pem == b"CA" and access.endpoint == ("127.0.0.1", 39017)
    assert access.user["client-key-data"] == base64.b64encode(b"KEY").decode()
    relayed = access.relayed("172.29.5.1", 6443)
    assert relayed.cluster["server"] == "https://172.29.5.1:6443"
    assert relayed.cluster["tls-server-name"] == "127.0.0.1"
    assert relayed.cluster["certificate-authority-data"] == access.cluster[
        "certificate-authority-data"]


def test_kubeconfig_without_ca_or_with_http_is_refused(tmp_path: Path) -> None:
    (tmp_path / "k").write_text(yaml.safe_dump({
        "current-context": "c",
        "clusters": [{"name": "kc", "cluster": {"server": "http://h:8080"}}],
        "users": [{"name": "ku", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "kc", "user": "ku"}}],
    }))
    access = ClusterAccess.load(tmp_path / "k")
    with pytest.raises(NodelabError, match="https"):
        _ = access.endpoint
    with pytest.raises(NodelabError, match="certificate authority"):
        _ = access.ca_pem


def serving(user: str, cn: str, dns: list[str], ips: list[str]) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([
                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                   x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
               .add_extension(x509.SubjectAlternativeName(names), False)
               .sign(key, hashes.SHA256()))
    pem = request.public_bytes(serialization.Encoding.PEM)
    return {"spec": {"username": user, "request": base64.b64encode(pem).decode(),
                     "signerName": "kubernetes.io/kubelet-serving"}}


NODES = {"jb-node1": "172.29.7.11"}


def test_join_approves_its_own_nodes_serving_csr() -> None:
    own = serving("system:node:jb-node1", "system:node:jb-node1", ["jb-node1"], ["172.29.7.11"])
    assert serving_refusal(own, NODES) is None


@pytest.mark.parametrize(("user", "cn", "dns", "ips", "why"), [
    ("system:node:node1", "system:node:node1", ["node1"], ["172.29.7.11"], "not by a node"),
    ("admin", "system:node:jb-node1", ["jb-node1"], [], "not by a node"),
    ("system:node:jb-node1", "system:node:other", ["jb-node1"], [], "is not the sender"),
    ("system:node:jb-node1", "system:node:jb-node1", ["jb-node1", "evil.example"], [],
     "evil.example"),
    ("system:node:jb-node1", "system:node:jb-node1", [], ["10.0.0.1"], "10.0.0.1"),
])
def test_join_refuses_anything_else(user: str, cn: str, dns: list[str], ips: list[str],
                                    why: str) -> None:
    refusal = serving_refusal(serving(user, cn, dns, ips), NODES)
    assert refusal is not None and why in refusal


def test_client_csr_asks_for_the_node_identity() -> None:
    obj = client_csr("jb-node1", ec.generate_private_key(ec.SECP256R1()))
    request = x509.load_pem_x509_csr(base64.b64decode(obj["spec"]["request"]))
    assert request.subject.rfc4514_string() == "CN=system:node:jb-node1,O=system:nodes"
    assert obj["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"
    assert obj["spec"]["usages"] == ["digital signature", "client auth"]


def test_fallback_pod_ranges_are_the_labs_own_and_distinct() -> None:
    import ipaddress as ip

    from nodelab.lab.join.steps import fallback_pod_cidr
    from nodelab.lab.topology import plan_topology

    topology = plan_topology("jb", ip.IPv4Network("172.29.7.0/24"), 9)
    ranges = [fallback_pod_cidr(topology.subnet, n) for n in topology.nodes]
    assert ranges[:2] == ["10.250.7.0/27", "10.250.7.32/27"]
    assert len(set(ranges[:8])) == 8 and ranges[8] == ""


def test_join_does_not_crash_on_a_duplicated_san_extension() -> None:
    from tests.controlplane.bad_requests import duplicated_san_request

    csr = {"spec": {"username": "system:node:jb-node1",
                    "request": duplicated_san_request("system:node:jb-node1"),
                    "signerName": "kubernetes.io/kubelet-serving"}}
    refusal = serving_refusal(csr, NODES)
    assert refusal is not None and "unreadable" in refusal
