"""The CSR signing controller: issues approved kubelet certificates with the cluster CA
(see csrsigning_plan.py). Runs only when the controllers are given the CA's key
(`--cluster-signing-cert-file`/`--cluster-signing-key-file`, as kube-controller-manager)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from nodelab.controlplane.controllers.csrsigning_plan import ClusterCA, signed_status
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer

log = logging.getLogger("nodelab.controllers")


def load_ca(cert_file: Path, key_file: Path) -> ClusterCA:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    return ClusterCA(cert, cast(CertificateIssuerPrivateKeyTypes, key))


class CSRSigningController:
    name = "csrsigning"
    kinds: tuple[str, ...] = ("certificatesigningrequests",)
    periodic = False

    def __init__(self, ca: ClusterCA) -> None:
        self.ca = ca

    def sync(self, store: Store, writer: Writer) -> None:
        for csr in store.list("certificatesigningrequests"):
            name = str((csr.get("metadata") or {}).get("name"))
            try:
                status = signed_status(csr, self.ca)
                if status is None:
                    continue
                body = {**csr, "status": status}
                writer.replace("certificatesigningrequests", None, name, body, "status")
            except Exception:  # noqa: BLE001 - one bad CSR must not stop the others
                log.exception("cannot sign CSR %s; next sync retries it", name)
                continue
            outcome = "issued" if status.get("certificate") else "refused"
            log.info("certificate for CSR %s %s (%s)", name, outcome,
                     csr.get("spec", {}).get("signerName"))
