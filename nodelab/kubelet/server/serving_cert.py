"""The kubelet server's TLS certificate: given, requested through the CSR API, or self-signed.

Upstream's three ways, in the same order of preference:

1. `tlsCertFile`/`tlsPrivateKeyFile`: a certificate the lab issued for the node IP with its
   CA (what `nodelab up` does for the embedded control plane);
2. `serverTLSBootstrap`: the kubelet makes a key, sends a CertificateSigningRequest
   (`certificates.k8s.io/v1`, signer `kubernetes.io/kubelet-serving`, subject
   `system:node:<name>` in `system:nodes`, SANs = node IP and hostname) and waits for the
   cluster to approve and sign it: the way to join a real cluster;
3. otherwise a self-signed certificate under `<state dir>/pki/`, as upstream does.

The client CA (`authentication.x509.clientCAFile`) is what the server trusts for client
certificates: the API server's `kube-apiserver-kubelet-client` and admins.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nodelab.host.private_files import write_private_key
from nodelab.kube.certificates.csr import request_certificate
from nodelab.kube.restclient import ApiAccess


def _sans(node_ip: str, hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(node_ip)))
    except ValueError:
        names.append(x509.DNSName(node_ip))
    return names


def self_signed(directory: Path, node_ip: str, hostname: str) -> tuple[Path, Path]:
    """`kubelet.crt`/`kubelet.key` in `directory`, made once (upstream's fallback)."""
    cert_path, key_path = directory / "kubelet.crt", directory / "kubelet.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{hostname}@{int(time.time())}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(_sans(node_ip, hostname)), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(key, hashes.SHA256())
    )
    write_private_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def csr_object(node_name: str, node_ip: str, key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    """The CertificateSigningRequest of a kubelet serving certificate (the plan)."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node_name}"),
    ])
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(subject)
        .add_extension(x509.SubjectAlternativeName(_sans(node_ip, node_name)), False)
        .sign(key, hashes.SHA256())
    )
    pem = request.public_bytes(serialization.Encoding.PEM)
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "csr-"},
        "spec": {
            "request": base64.b64encode(pem).decode(),
            "signerName": "kubernetes.io/kubelet-serving",
            "usages": ["digital signature", "server auth"],
        },
    }


def request_through_csr(api: ApiAccess, directory: Path, node_name: str, node_ip: str,
                        timeout: float = 300.0) -> tuple[Path, Path]:
    """Ask the cluster for a serving certificate and wait until it is issued."""
    return request_certificate(
        api, directory / "kubelet-server.crt", directory / "kubelet-server.key",
        lambda key: csr_object(node_name, node_ip, key), timeout=timeout, poll=2.0,
        not_signed="approve it (`kubectl certificate approve {name}`)")
