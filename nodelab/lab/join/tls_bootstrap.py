"""TLS bootstrap of a joined lab's kubelets, through the cluster's CSR API, as upstream.

Client certificate (what `kubeadm join`'s bootstrap token flow ends with): `join` makes the
node's key, sends a CertificateSigningRequest for signer
`kubernetes.io/kube-apiserver-client-kubelet` (subject `system:node:<name>` in
`system:nodes`, usages digital signature + client auth), approves it through the `approval`
subresource as `kubectl certificate approve` does, and waits for the cluster's signer to
issue it. The kubelet then talks to the cluster as that node. If the cluster approves it first
(kind's csrapproving controller does, for kubelet client CSRs), the approval's 409 Conflict
is no error: the CSR is read again and, already approved, left alone.

Serving certificate (`serverTLSBootstrap`): the kubelet sends its own CSR for signer
`kubernetes.io/kubelet-serving`. Upstream leaves approving those to an approver; `join` is
that approver for its own nodes only: it approves a request only when it was sent by
`system:node:<name>` for a node of this lab, names that same subject, and asks for no names
but the node's own name and address. Only CSRs sent after this lab's node daemons started
count: the serving CSRs of a former lab of the same name are deleted before they start (and
`down` deletes the lab's CSRs, as upstream's csrcleaner would in time).
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes.client.exceptions import ApiException

from nodelab.controlplane.auth.identities import ComponentIdentity
from nodelab.errors import NodelabError
from nodelab.kube.certificates.csr import (
    KIND,
    conditions_true,
    refusal_reasons,
    request_certificate,
)
from nodelab.kube.objects import Object
from nodelab.kube.rest import Rest

CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
KUBE_APISERVER_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
APPROVER = "NodelabJoin"
NOT_SIGNED = ("the cluster's controller-manager must run its csrsigning controller "
              "(`--cluster-signing-cert-file`/`--cluster-signing-key-file`)")


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


def approve(rest: Rest, csr: Object, message: str, attempts: int = 5) -> None:
    """Approve `csr` through its `approval` subresource. Someone else may decide first (kind's
    csrapproving controller approves kubelet client CSRs itself): on a 409 Conflict the CSR is
    read again; already decided, there is nothing to do, else it is approved afresh."""
    name = csr["metadata"]["name"]
    for _ in range(attempts):
        if conditions_true(csr) & {"Approved", "Denied"}:
            return
        try:
            rest.replace(KIND, None, name, approval(csr, message), "approval")
            return
        except ApiException as exc:
            if exc.status != 409:
                raise
        csr = rest.get(KIND, None, name)
    raise NodelabError(f"could not approve CertificateSigningRequest {name}: it changed under "
                       f"every one of {attempts} attempts; see `kubectl get csr {name}`")


def client_certificate(rest: Rest, kube_name: str, directory: Path,
                       timeout: float = 60.0) -> tuple[Path, Path]:
    """The node's client certificate and key (reused while the files exist)."""
    return request_certificate(
        rest, directory / "kubelet-client.crt", directory / "kubelet-client.key",
        lambda key: client_csr(kube_name, key), timeout=timeout, not_signed=NOT_SIGNED,
        approve=lambda csr: approve(rest, csr, f"nodelab join of node {kube_name}"))


def component_csr(lab: str, identity: ComponentIdentity,
                  key: ec.EllipticCurvePrivateKey) -> Object:
    """The CSR object for a lab component's client certificate (kube-proxy, podnet): signer
    `kubernetes.io/kube-apiserver-client`, the component's user and groups as the subject."""
    subject = x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g)
                           for g in identity.groups),
                         x509.NameAttribute(NameOID.COMMON_NAME, identity.user)])
    pem = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    return {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": f"nodelab-{lab}-{identity.name}-{secrets.token_hex(3)}"},
        "spec": {"request": base64.b64encode(pem).decode(),
                 "signerName": KUBE_APISERVER_CLIENT_SIGNER,
                 "usages": ["digital signature", "client auth"]},
    }


def component_certificate(rest: Rest, lab: str, identity: ComponentIdentity, directory: Path,
                          timeout: float = 60.0) -> tuple[Path, Path]:
    """A lab component's client certificate and key from the cluster's CSR API (reused while
    the files exist): `join` sends the CSR, approves it as the admin it is, and waits."""
    return request_certificate(
        rest, directory / f"{identity.name}.crt", directory / f"{identity.name}.key",
        lambda key: component_csr(lab, identity, key), timeout=timeout, not_signed=NOT_SIGNED,
        approve=lambda csr: approve(
            rest, csr, f"nodelab join: the {identity.name} identity of lab {lab}"))


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


def approve_serving(rest: Rest, nodes: Mapping[str, str], say: Callable[[str], None],
                    stale: Collection[str] = ()) -> set[str]:
    """Approve the pending serving CSRs of `nodes` (kube name -> node IP); the nodes whose
    serving certificate has been issued. CSRs named in `stale` (there before this lab's node
    daemons started: a former lab of the same name) count for nothing. A CSR of one of the
    nodes that the cluster refused (Denied, Failed) is an error that says why."""
    issued: set[str] = set()
    refused: dict[str, str] = {}
    for csr in _requests(rest):
        spec = csr.get("spec") or {}
        name = str((csr.get("metadata") or {}).get("name"))
        if spec.get("signerName") != SERVING_SIGNER or name in stale:
            continue
        node = str(spec.get("username", "")).removeprefix("system:node:")
        if node not in nodes:
            continue
        if (csr.get("status") or {}).get("certificate"):
            issued.add(node)
            continue
        decided = conditions_true(csr)
        if decided & {"Denied", "Failed"}:
            refused[node] = f"CertificateSigningRequest {name}: {refusal_reasons(csr)}"
            continue
        if decided:
            continue
        refusal = serving_refusal(csr, nodes)
        if refusal:
            say(f"not approving CertificateSigningRequest {name}: {refusal}")
            continue
        say(f"approving the serving certificate of {node} (CertificateSigningRequest {name})")
        approve(rest, csr, f"serving certificate of nodelab node {node}")
    for node, why in sorted(refused.items()):
        if node not in issued:
            raise NodelabError(f"the cluster refused the serving certificate of {node} ({why})")
    return issued


def _requests(rest: Rest) -> list[Object]:
    items = rest.request("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests"
                         ).get("items") or []
    return [csr for csr in items if isinstance(csr, dict)]


def _serving_of(csr: Object, users: Collection[str]) -> bool:
    spec = csr.get("spec") or {}
    return spec.get("signerName") == SERVING_SIGNER and spec.get("username") in users


def serving_requests(rest: Rest, nodes: Collection[str]) -> list[str]:
    """The names of the serving CSRs sent by `nodes` (kube names)."""
    users = {f"system:node:{node}" for node in nodes}
    return [str(csr["metadata"]["name"]) for csr in _requests(rest) if _serving_of(csr, users)]


def lab_requests(rest: Rest, nodes: Collection[str]) -> list[str]:
    """The names of every CSR of `nodes` (kube names): their serving CSRs, and the client CSRs
    `join` sent for them (`node-csr-<node>-<6 hex digits>`)."""
    if not nodes:
        return []
    users = {f"system:node:{node}" for node in nodes}
    client = re.compile("|".join(rf"node-csr-{re.escape(n)}-[0-9a-f]{{6}}" for n in nodes))
    names = []
    for csr in _requests(rest):
        name = str((csr.get("metadata") or {}).get("name"))
        own_client = (client.fullmatch(name) is not None
                      and (csr.get("spec") or {}).get("signerName") == CLIENT_SIGNER)
        if own_client or _serving_of(csr, users):
            names.append(name)
    return sorted(names)


def component_requests(rest: Rest, lab: str) -> list[str]:
    """The names of the component CSRs `join` sent for lab `lab`."""
    mine = re.compile(rf"nodelab-{re.escape(lab)}-[a-z0-9-]+-[0-9a-f]{{6}}")
    return sorted(str(csr["metadata"]["name"]) for csr in _requests(rest)
                  if mine.fullmatch(str((csr.get("metadata") or {}).get("name")))
                  and (csr.get("spec") or {}).get("signerName") == KUBE_APISERVER_CLIENT_SIGNER)
