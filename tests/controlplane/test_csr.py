"""CertificateSigningRequests: validation and signing plans (unit), and the API with real
kubectl (`kubectl get csr`, `kubectl certificate approve`) and the in-process signer."""

from __future__ import annotations

import base64
import datetime
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nodelab.controlplane.auth.pki import ensure_pki
from nodelab.controlplane.controllers.csrsigning import load_ca
from nodelab.controlplane.controllers.csrsigning_plan import ClusterCA, signed_status
from nodelab.controlplane.validation import validate
from tests.controlplane.apiserver import RunningApiServer, running_apiserver

KEY = "certificates.k8s.io/certificatesigningrequests"
CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING = "kubernetes.io/kubelet-serving"
APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"


def request_pem(cn: str, orgs: list[str], dns: list[str] = (), ips: list[str] = ()) -> str:  # type: ignore[assignment]
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return base64.b64encode(pem).decode()


def csr(name: str, request: str, signer: str, usages: list[str],
        conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": request, "signerName": signer, "usages": usages}}
    if conditions is not None:
        obj["status"] = {"conditions": conditions}
    return obj


APPROVED = [{"type": "Approved", "status": "True", "reason": "Test"}]


# --- validation (plans) --------------------------------------------------------------------

def test_valid_csr_has_no_causes() -> None:
    good = csr("a", request_pem("system:node:n1", ["system:nodes"]), CLIENT,
               ["digital signature", "client auth"])
    assert validate(KEY, good) == []


def test_every_bad_field_is_named() -> None:
    bad = csr("a", base64.b64encode(b"not pem").decode(), "no-slash", ["flying"])
    bad["spec"]["expirationSeconds"] = 60
    fields = {c.field: c.message for c in validate(KEY, bad)}
    assert "CERTIFICATE REQUEST" in fields["spec.request"]
    assert "example.com/signer-name" in fields["spec.signerName"]
    assert fields["spec.usages[0]"].startswith('Unsupported value: "flying"')
    assert "600" in fields["spec.expirationSeconds"]


def test_required_fields_and_exclusive_decisions() -> None:
    fields = {c.field for c in validate(KEY, {"metadata": {"name": "a"}, "spec": {}})}
    assert {"spec.request", "spec.signerName", "spec.usages"} <= fields
    both = csr("a", request_pem("x", []), CLIENT, ["client auth"],
               [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}])
    messages = [c.message for c in validate(KEY, both)]
    assert any("mutually exclusive" in m for m in messages)


def test_spec_is_immutable_and_decisions_stay() -> None:
    old = csr("a", request_pem("x", []), CLIENT, ["client auth"], APPROVED)
    new = json.loads(json.dumps(old))
    new["spec"]["usages"] = ["server auth"]
    new["status"] = {}
    messages = {c.field: c.message for c in validate(KEY, new, old)}
    assert "immutable" in messages["spec"]
    assert "Approved" in messages["status.conditions"]


# --- signing (plans) -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ca() -> Iterator[ClusterCA]:
    with tempfile.TemporaryDirectory(prefix="nlcsr-") as state:
        pki = ensure_pki(Path(state), ["127.0.0.1"])
        yield load_ca(pki.ca_cert, pki.ca_key)


def issued(status: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(base64.b64decode(status["certificate"]))


def test_signs_an_approved_kubelet_client_csr(ca: ClusterCA) -> None:
    obj = csr("a", request_pem("system:node:n1", ["system:nodes"]), CLIENT,
              ["digital signature", "client auth"], APPROVED)
    status = signed_status(obj, ca)
    assert status is not None
    cert = issued(status)
    cert.verify_directly_issued_by(ca.cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:n1"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=364) < left <= datetime.timedelta(days=365)


def test_signs_serving_csr_with_its_sans(ca: ClusterCA) -> None:
    obj = csr("a", request_pem("system:node:n1", ["system:nodes"], ["n1"], ["172.29.1.11"]),
              SERVING, ["digital signature", "server auth"], APPROVED)
    obj["spec"]["expirationSeconds"] = 3600
    status = signed_status(obj, ca)
    assert status is not None
    cert = issued(status)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(i) for i in sans.get_values_for_type(x509.IPAddress)] == ["172.29.1.11"]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(
        seconds=3600 + 300)


def test_leaves_pending_denied_foreign_and_issued_alone(ca: ClusterCA) -> None:
    request = request_pem("system:node:n1", ["system:nodes"])
    usages = ["digital signature", "client auth"]
    assert signed_status(csr("a", request, CLIENT, usages), ca) is None
    assert signed_status(csr("a", request, CLIENT, usages,
                             [{"type": "Denied", "status": "True"}]), ca) is None
    assert signed_status(csr("a", request, "example.com/other", usages, APPROVED), ca) is None
    done = csr("a", request, CLIENT, usages, APPROVED)
    done["status"]["certificate"] = "eA=="
    assert signed_status(done, ca) is None


@pytest.mark.parametrize(("cn", "orgs", "signer", "usages", "why"), [
    ("admin", ["system:masters"], CLIENT, ["digital signature", "client auth"], "organization"),
    ("system:node:n1", ["system:nodes"], CLIENT, ["digital signature", "server auth"], "usages"),
    ("system:node:n1", ["system:nodes"], SERVING, ["digital signature", "server auth"],
     "at least one DNS name"),
    ("system:kube-proxy", [], APISERVER_CLIENT, ["digital signature"],
     "missing required usage for client certificate: client auth"),
    ("system:kube-proxy", [], APISERVER_CLIENT, ["client auth", "server auth"],
     "invalid usage for client certificate: server auth"),
])
def test_refuses_what_upstream_refuses(ca: ClusterCA, cn: str, orgs: list[str], signer: str,
                                       usages: list[str], why: str) -> None:
    status = signed_status(csr("a", request_pem(cn, orgs), signer, usages, APPROVED), ca)
    assert status is not None and "certificate" not in status
    failed = status["conditions"][-1]
    assert (failed["type"], failed["reason"]) == ("Failed", "SignerValidationFailure")
    assert why in failed["message"]


def test_the_kube_apiserver_client_signer_signs_any_subject_for_client_auth(
        ca: ClusterCA) -> None:
    """What `nodelab join` asks for kube-proxy and podnet (kube-apiserver-client signer)."""
    request = request_pem("system:kube-proxy", [])
    status = signed_status(csr("a", request, APISERVER_CLIENT,
                               ["digital signature", "client auth"], APPROVED), ca)
    assert status is not None and status.get("certificate")


# --- the API, with real kubectl ------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[RunningApiServer]:
    with running_apiserver("--controllers") as running:
        yield running


def test_kubectl_get_approve_and_signer(server: RunningApiServer) -> None:
    node = server.node_kubeconfig("n1")
    body = csr("n1-client", request_pem("system:node:n1", ["system:nodes"]), CLIENT,
               ["digital signature", "client auth"])
    body["spec"]["username"] = "someone-else"  # the API server fills in who asked
    server.kubectl("create", "-f", "-", input=json.dumps(body), kubeconfig=node)
    table = server.kubectl("get", "csr").stdout
    assert "n1-client" in table and "Pending" in table and "system:node:n1" in table
    stored = server.kubectl_json("get", "csr", "n1-client")
    assert stored["spec"]["username"] == "system:node:n1"
    assert "system:nodes" in stored["spec"]["groups"]
    denied = server.kubectl("certificate", "approve", "n1-client", kubeconfig=node, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    server.kubectl("certificate", "approve", "n1-client")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = server.kubectl_json("get", "csr", "n1-client").get("status") or {}
        if status.get("certificate"):
            break
        time.sleep(0.3)
    assert status.get("certificate"), status
    assert "Approved,Issued" in server.kubectl("get", "csr", "n1-client").stdout
    assert server.pki is not None
    ca = x509.load_pem_x509_certificate(server.pki.ca_cert.read_bytes())
    issued(status).verify_directly_issued_by(ca)


def test_invalid_csr_is_422_with_field_paths(server: RunningApiServer) -> None:
    body = csr("bad", base64.b64encode(b"junk").decode(), "nope", ["flying"])
    result = server.kubectl("create", "-f", "-", input=json.dumps(body), check=False)
    assert result.returncode != 0
    assert "spec.request" in result.stderr and "spec.signerName" in result.stderr
    assert "spec.usages[0]" in result.stderr


# --- review fixes (unit) -------------------------------------------------------------------

def two_cn_request(names: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         *[x509.NameAttribute(NameOID.COMMON_NAME, n) for n in names]])
    sans = x509.SubjectAlternativeName([x509.DNSName("n1")])
    pem = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .add_extension(sans, False).sign(key, hashes.SHA256())
           .public_bytes(serialization.Encoding.PEM))
    return base64.b64encode(pem).decode()


@pytest.mark.parametrize(("signer", "usages"), [
    (CLIENT, ["digital signature", "client auth"]),
    (SERVING, ["digital signature", "server auth"]),
])
def test_two_common_names_are_refused_by_both_kubelet_signers(
        ca: ClusterCA, signer: str, usages: list[str]) -> None:
    # the authenticator reads the LAST CN: this would log in as admin
    obj = csr("a", two_cn_request(["system:node:n1", "admin"]), signer, usages, APPROVED)
    status = signed_status(obj, ca)
    assert status is not None and "certificate" not in status
    assert "exactly one common name" in status["conditions"][-1]["message"]


def test_multi_valued_rdn_is_refused(ca: ClusterCA) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.RelativeDistinguishedName([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
        x509.NameAttribute(NameOID.COMMON_NAME, "system:node:n1")])])
    pem = (x509.CertificateSigningRequestBuilder().subject_name(subject)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    obj = csr("a", base64.b64encode(pem).decode(), CLIENT,
              ["digital signature", "client auth"], APPROVED)
    status = signed_status(obj, ca)
    assert status is not None and "multi-valued" in status["conditions"][-1]["message"]


def test_authenticator_and_signer_read_the_same_user() -> None:
    from nodelab.controlplane.auth.access import from_certificate
    from nodelab.controlplane.auth.certificates import parse_request, subject_of

    request = parse_request(two_cn_request(["system:node:n1", "admin"]))
    peer = {"subject": ((("organizationName", "system:nodes"),),
                        (("commonName", "system:node:n1"),), (("commonName", "admin"),))}
    identity = from_certificate(peer)
    assert identity is not None
    assert identity.user == subject_of(request)[0] == "admin"


def test_huge_expiration_and_duplicated_extensions_are_refused_at_create() -> None:
    from tests.controlplane.bad_requests import duplicated_san_request

    huge = csr("a", request_pem("system:node:n1", ["system:nodes"]), CLIENT,
               ["digital signature", "client auth"])
    huge["spec"]["expirationSeconds"] = 10**12
    assert "int32" in {c.field: c.message for c in validate(KEY, huge)}[
        "spec.expirationSeconds"]
    twice = csr("a", duplicated_san_request(), SERVING, ["digital signature", "server auth"])
    assert "Duplicate" in {c.field: c.message for c in validate(KEY, twice)}["spec.request"]


def test_signer_marks_unsignable_requests_failed_instead_of_raising(ca: ClusterCA) -> None:
    from tests.controlplane.bad_requests import duplicated_san_request

    huge = csr("a", request_pem("system:node:n1", ["system:nodes"]), CLIENT,
               ["digital signature", "client auth"], APPROVED)
    huge["spec"]["expirationSeconds"] = 10**12  # stored before validation capped it
    status = signed_status(huge, ca)
    assert status is not None
    cert = issued(status)  # capped to one year, not an overflow
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(
        days=365, minutes=5)
    twice = csr("b", duplicated_san_request(), SERVING, ["digital signature", "server auth"],
                APPROVED)
    status = signed_status(twice, ca)
    assert status is not None and "certificate" not in status
    assert status["conditions"][-1]["type"] == "Failed"


def test_signing_controller_goes_on_after_a_csr_it_cannot_write(ca: ClusterCA) -> None:
    from nodelab.controlplane.controllers.csrsigning import CSRSigningController

    request = request_pem("system:node:n1", ["system:nodes"])
    usages = ["digital signature", "client auth"]
    first, second = csr("first", request, CLIENT, usages, APPROVED), csr(
        "second", request, CLIENT, usages, APPROVED)

    class Store:
        def list(self, kind: str) -> list[dict[str, Any]]:
            return [first, second]

    written: list[str] = []

    class Writer:
        def replace(self, kind: str, namespace: None, name: str, body: dict[str, Any],
                    subresource: str) -> None:
            if name == "first":
                raise RuntimeError("409 Conflict")
            written.append(name)

    CSRSigningController(ca).sync(Store(), Writer())  # type: ignore[arg-type]
    assert written == ["second"]


def test_legacy_unknown_signer_is_refused_on_create() -> None:
    legacy = csr("a", request_pem("system:node:n1", ["system:nodes"]),
                 "kubernetes.io/legacy-unknown", ["digital signature", "client auth"])
    assert "legacy" in {c.field: c.message for c in validate(KEY, legacy)}["spec.signerName"]
