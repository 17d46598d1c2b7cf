"""What the CSR signer does with one CertificateSigningRequest (kube-controller-manager's
csrsigning controller), as a pure function of the request and the cluster CA.

Only requests that are `Approved` (and not `Denied` or `Failed`), not yet issued, and for one
of the signers this cluster runs (`kubernetes.io/kube-apiserver-client-kubelet`,
`kubernetes.io/kubelet-serving`, `kubernetes.io/kube-apiserver-client`) are touched. A request
the signer may not sign (wrong subject, SANs or usages: see `certificates.signer_refusal`)
gets a `Failed` condition with reason `SignerValidationFailure`, as upstream (one the CA
cannot sign, e.g. a request that slipped past validation: reason `SigningFailure`); otherwise
`status.certificate` is set to a certificate from the cluster CA valid for
`spec.expirationSeconds` but at most one year (upstream's `--cluster-signing-duration`
default), never past the CA's own end.
"""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from nodelab.controlplane.auth.certificates import (
    DEFAULT_DURATION,
    KUBE_APISERVER_CLIENT_SIGNER,
    KUBELET_CLIENT_SIGNER,
    KUBELET_SERVING_SIGNER,
    BadRequest,
    issue,
    parse_request,
    signer_refusal,
)
from nodelab.kube.objects import Object
from nodelab.kubewire.times import format_time

SIGNERS = (KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER, KUBE_APISERVER_CLIENT_SIGNER)


@dataclass(frozen=True)
class ClusterCA:
    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes


def _conditions(csr: Object) -> dict[str, Object]:
    return {str(c.get("type")): c for c in (csr.get("status") or {}).get("conditions") or []
            if isinstance(c, dict) and c.get("status", "True") == "True"}


def pending_for_signer(csr: Object) -> bool:
    """Approved, not denied or failed, not issued, and ours to sign."""
    conditions = _conditions(csr)
    return ("Approved" in conditions and "Denied" not in conditions
            and "Failed" not in conditions
            and not (csr.get("status") or {}).get("certificate")
            and (csr.get("spec") or {}).get("signerName") in SIGNERS)


def signed_status(csr: Object, ca: ClusterCA,
                  now: datetime.datetime | None = None) -> Object | None:
    """The status to write for `csr` (None: nothing to do)."""
    if not pending_for_signer(csr):
        return None
    spec = csr.get("spec") or {}
    status: Object = dict(csr.get("status") or {})
    try:
        request = parse_request(str(spec.get("request", "")))
        refusal = signer_refusal(str(spec["signerName"]), request, list(spec.get("usages") or []))
    except BadRequest as exc:
        request, refusal = None, f"invalid request: {exc}"
    if refusal is not None or request is None:
        return failed(status, "SignerValidationFailure", str(refusal), now)
    seconds = spec.get("expirationSeconds")
    try:
        duration = (datetime.timedelta(seconds=int(seconds)) if isinstance(seconds, int)
                    else DEFAULT_DURATION)
        pem = issue(request, list(spec.get("usages") or []), ca.cert, ca.key, duration, now)
    except (ValueError, OverflowError, TypeError, x509.DuplicateExtension) as exc:
        return failed(status, "SigningFailure", f"cannot sign: {exc}", now)
    status["certificate"] = base64.b64encode(pem).decode()
    return status


def failed(status: Object, reason: str, message: str,
           now: datetime.datetime | None = None) -> Object:
    """`status` with a `Failed` condition: the signer will not issue this request."""
    moment = format_time(now or datetime.datetime.now(datetime.timezone.utc))
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    return {**status, "conditions": [*conditions, {
        "type": "Failed", "status": "True", "reason": reason, "message": message,
        "lastUpdateTime": moment, "lastTransitionTime": moment}]}
