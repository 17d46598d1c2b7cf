"""TLS bootstrap of a joined lab's kubelets, through the cluster's CSR API, as upstream.

Client certificate (what `kubeadm join`'s bootstrap token flow ends with): `join` makes the
node's key, sends a CertificateSigningRequest for signer
`kubernetes.io/kube-apiserver-client-kubelet` (subject `system:node:<name>` in
`system:nodes`, usages digital signature + client auth), approves it through the `approval`
subresource as `kubectl certificate approve` does, and waits for the cluster's signer to
issue it. The kubelet then talks to the cluster as that node.

Serving certificate (`serverTLSBootstrap`): the kubelet sends its own CSR for signer
`kubernetes.io/kubelet-serving`. Upstream leaves approving those to an approver; `join` is
that approver for its own nodes only: it approves a request only when it was sent by
`system:node:<name>` for a node of this lab, names that same subject, and asks for no names
but the node's own name and address.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nodelab.errors import NodelabError
from nodelab.kube.rest import Rest

Object = dict[str, Any]
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
APPROVER = "NodelabJoin"
KIND = "certificatesigningrequests"


def client_csr(kube_name: str, key: ec.EllipticCurvePrivateKey) -> Object:
    """The CSR object for a kubelet client certificate (the plan)."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{kube_name}")])
    pem = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": f"node-csr-{kube_name}-{secrets.token_hex(3)}"},
        "spec": {"request": base64.b64encode(pem).decode(), "signerName": CLIENT_SIGNER,
                 "usages": ["digital signature", "client auth"]},
    }


def approval(csr: Object, message: str) -> Object:
    """`csr` with an Approved condition, for PUT .../approval."""
    approved = dict(csr)
    status = dict(approved.get("status") or {})
    status["conditions"] = [*(status.get("conditions") or []), {
        "type": "Approved", "status": "True", "reason": APPROVER, "message": message}]
    approved["status"] = status
    return approved


def _decided(csr: Object) -> set[str]:
    return {str(c.get("type")) for c in (csr.get("status") or {}).get("conditions") or []
            if c.get("status", "True") == "True"}


def _wait_issued(rest: Rest, name: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        csr = rest.get(KIND, None, name)
        issued = (csr.get("status") or {}).get("certificate")
        if issued:
            return base64.b64decode(issued)
        failed = _decided(csr) & {"Denied", "Failed"}
        if failed:
            reasons = "; ".join(f"{c.get('type')}: {c.get('message') or c.get('reason')}"
                                for c in csr["status"]["conditions"])
            raise NodelabError(f"the cluster refused CertificateSigningRequest {name} "
                               f"({reasons})")
        if time.monotonic() > deadline:
            raise NodelabError(
                f"CertificateSigningRequest {name} was approved but not signed within "
                f"{timeout:.0f}s: the cluster's controller-manager must run its csrsigning "
                "controller (`--cluster-signing-cert-file`/`--cluster-signing-key-file`)")
        time.sleep(0.5)


def client_certificate(rest: Rest, kube_name: str, directory: Path,
                       timeout: float = 60.0) -> tuple[Path, Path]:
    """The node's client certificate and key (reused while the files exist)."""
    cert_path, key_path = directory / "kubelet-client.crt", directory / "kubelet-client.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    created = rest.create(KIND, None, client_csr(kube_name, key))
    name = created["metadata"]["name"]
    rest.replace(KIND, None, name, approval(created, f"nodelab join of node {kube_name}"),
                 "approval")
    cert = _wait_issued(rest, name, timeout)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert)
    return cert_path, key_path


def serving_refusal(csr: Object, nodes: Mapping[str, str]) -> str | None:
    """Why `join` will not approve this serving CSR (None: it is one of its nodes')."""
    spec = csr.get("spec") or {}
    user = str(spec.get("username", ""))
    node = user.removeprefix("system:node:")
    if not user.startswith("system:node:") or node not in nodes:
        return f"sent by {user!r}, not by a node of this lab"
    try:
        request = x509.load_pem_x509_csr(base64.b64decode(spec.get("request", "")))
        extensions = request.extensions
    except (ValueError, TypeError, x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType) as exc:
        return f"unreadable request: {exc}"
    cn = [a.value for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if cn != [user] or any(len(rdn) > 1 for rdn in request.subject.rdns):
        return f"subject {cn} is not the sender {user!r}"
    try:
        sans = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subject alternative names"
    allowed_ips = {ipaddress.ip_address(nodes[node])}
    for name in sans:
        if isinstance(name, x509.DNSName) and name.value == node:
            continue
        if isinstance(name, x509.IPAddress) and name.value in allowed_ips:
            continue
        return f"names {name.value} besides the node's own name and address"
    return None


def approve_serving(rest: Rest, nodes: Mapping[str, str],
                    say: Callable[[str], None]) -> set[str]:
    """Approve the pending serving CSRs of `nodes` (kube name -> node IP); the nodes whose
    serving certificate has been issued."""
    issued: set[str] = set()
    for csr in rest.request("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests"
                            ).get("items") or []:
        spec = csr.get("spec") or {}
        if spec.get("signerName") != SERVING_SIGNER:
            continue
        node = str(spec.get("username", "")).removeprefix("system:node:")
        if node not in nodes:
            continue
        if (csr.get("status") or {}).get("certificate"):
            issued.add(node)
            continue
        if _decided(csr):
            continue
        refusal = serving_refusal(csr, nodes)
        name = csr["metadata"]["name"]
        if refusal:
            say(f"not approving CertificateSigningRequest {name}: {refusal}")
            continue
        say(f"approving the serving certificate of {node} (CertificateSigningRequest {name})")
        rest.replace(KIND, None, name, approval(csr, f"serving certificate of nodelab node "
                                                     f"{node}"), "approval")
    return issued
