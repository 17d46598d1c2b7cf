"""A certificate through the CSR API (nodelab/kube/certificates/csr.py), against the embedded
API server with its signing controller: join's client certificate is created, approved and
issued; a denied request ends the wait with the denial's reason; the files are used again
while they exist."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from nodelab.controlplane.auth.identities import KUBE_PROXY
from nodelab.errors import NodelabError
from nodelab.kube.certificates.csr import wait_for_certificate
from nodelab.kube.rest import Rest
from nodelab.lab.join.tls_bootstrap import client_certificate, component_certificate
from tests.controlplane.apiserver import RunningApiServer, running_apiserver
from tests.controlplane.test_csr import CLIENT, csr, request_pem


@pytest.fixture(scope="module")
def server() -> Iterator[RunningApiServer]:
    with running_apiserver("--controllers") as running:
        yield running


def test_a_client_certificate_is_requested_approved_issued_and_kept(
    server: RunningApiServer, tmp_path: Path
) -> None:
    rest = Rest(server.client())
    cert_path, key_path = client_certificate(rest, "n1", tmp_path / "pki", timeout=30.0)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    assert key_path.stat().st_mode & 0o777 == 0o600
    issued = cert_path.read_bytes()
    again = client_certificate(rest, "n1", tmp_path / "pki", timeout=30.0)
    assert again == (cert_path, key_path) and cert_path.read_bytes() == issued
    proxy_cert, _ = component_certificate(rest, "lab1", KUBE_PROXY, tmp_path / "pki",
                                          timeout=30.0)
    assert "CN=system:kube-proxy" in x509.load_pem_x509_certificate(
        proxy_cert.read_bytes()).subject.rfc4514_string()


def test_a_denied_request_ends_the_wait_with_its_reason(server: RunningApiServer) -> None:
    body = csr("n2-denied", request_pem("system:node:n2", ["system:nodes"]), CLIENT,
               ["digital signature", "client auth"])
    server.kubectl("create", "-f", "-", input=json.dumps(body))
    server.kubectl("certificate", "deny", "n2-denied")
    with pytest.raises(NodelabError, match="refused CertificateSigningRequest n2-denied"):
        wait_for_certificate(Rest(server.client()), "n2-denied", 30.0, 0.2, "approve it")
