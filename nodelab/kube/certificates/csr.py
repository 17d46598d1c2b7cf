"""A certificate through the CSR API, as client-go's util/certificate/csr does it.

`request_certificate` makes an EC P-256 key, creates the CertificateSigningRequest that
`csr_for(key)` describes, lets the caller approve it (`join` approves its own nodes'; a
kubelet waits for an approver), waits until the cluster's signer issues the certificate
(`WaitForCertificate`: a CSR that is Denied or Failed ends the wait with its reasons), and
writes key and certificate (the key 0600). While both files exist they are used again and
nothing is asked. The kubelet's serving certificate (`kubelet/server/serving_cert.py`) and
`join`'s client certificates (`lab/join/tls_bootstrap.py`) are requested this way.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from nodelab.errors import NodelabError
from nodelab.host.private_files import write_private_key
from nodelab.kube.objects import Object
from nodelab.kube.verbs import ResourceVerbs

KIND = "certificatesigningrequests"
log = logging.getLogger(__name__)


def conditions_true(csr: Object) -> set[str]:
    """The types of the CSR's conditions that hold (Approved, Denied, Failed)."""
    return {str(c.get("type")) for c in (csr.get("status") or {}).get("conditions") or []
            if isinstance(c, dict) and c.get("status", "True") == "True"}


def refusal_reasons(csr: Object) -> str:
    return "; ".join(f"{c.get('type')}: {c.get('message') or c.get('reason')}"
                     for c in (csr.get("status") or {}).get("conditions") or []
                     if isinstance(c, dict) and c.get("type") in ("Denied", "Failed"))


def wait_for_certificate(api: ResourceVerbs, name: str, timeout: float, poll: float,
                         not_signed: str) -> bytes:
    """The certificate CSR `name` is issued (PEM); a NodelabError when the cluster refuses it,
    or when none comes within `timeout` seconds (`not_signed` says what to do; `{name}` in it
    is the CSR's name)."""
    deadline = time.monotonic() + timeout
    while True:
        csr = api.get(KIND, None, name)
        issued = (csr.get("status") or {}).get("certificate")
        if issued:
            return base64.b64decode(issued)
        if conditions_true(csr) & {"Denied", "Failed"}:
            raise NodelabError(f"the cluster refused CertificateSigningRequest {name} "
                               f"({refusal_reasons(csr)})")
        if time.monotonic() > deadline:
            raise NodelabError(f"CertificateSigningRequest {name} was "
                               f"{'approved but ' if 'Approved' in conditions_true(csr) else ''}"
                               f"not signed within {timeout:.0f}s: "
                               f"{not_signed.format(name=name)}")
        time.sleep(poll)


def request_certificate(
    api: ResourceVerbs,
    cert_path: Path,
    key_path: Path,
    csr_for: Callable[[ec.EllipticCurvePrivateKey], Object],
    *,
    not_signed: str,
    approve: Callable[[Object], None] | None = None,
    timeout: float = 60.0,
    poll: float = 0.5,
) -> tuple[Path, Path]:
    """The certificate and key files, asked for through the CSR API unless both exist."""
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    created = api.create(KIND, None, csr_for(key))
    name = created["metadata"]["name"]
    if approve is not None:
        approve(created)
    log.info("waiting for CertificateSigningRequest %s to be approved and signed", name)
    cert = wait_for_certificate(api, name, timeout, poll, not_signed)
    write_private_key(key_path, key)
    cert_path.write_bytes(cert)
    return cert_path, key_path
