"""CertificateSigningRequests (`certificates.k8s.io/v1`): reading a request, and what a signer
may issue for it.

Shared by the API's validation (is `spec.request` a well-signed PKCS#10 request?) and the
signing controller (may signer X sign this request, and the certificate it makes). The checks
are upstream's (`pkg/apis/certificates/helpers.go`, `IsKubeletServingCSR` and
`IsKubeletClientCSR`): a kubelet's certificate names `system:node:<name>` in `system:nodes`,
asks for exactly the usages of its kind, and a client certificate carries no SANs while a
serving one carries only DNS names and IP addresses.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving"
KUBE_APISERVER_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
LEGACY_UNKNOWN_SIGNER = "kubernetes.io/legacy-unknown"
NODES_GROUP = "system:nodes"
NODE_PREFIX = "system:node:"

KNOWN_USAGES = (
    "signing", "digital signature", "content commitment", "key encipherment",
    "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
    "decipher only", "any", "server auth", "client auth", "code signing", "email protection",
    "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping",
    "ocsp signing", "microsoft sgc", "netscape sgc",
)
# upstream: kubelet client CSRs need exactly these (key encipherment optional, for RSA keys)
_CLIENT_USAGES = ({"digital signature", "client auth"},
                  {"digital signature", "key encipherment", "client auth"})
_SERVING_USAGES = ({"digital signature", "server auth"},
                   {"digital signature", "key encipherment", "server auth"})
# upstream's cluster-signing-duration default: one year
DEFAULT_DURATION = datetime.timedelta(days=365)
MIN_EXPIRATION_SECONDS = 600
MAX_EXPIRATION_SECONDS = 2**31 - 1  # an int32 in the API


class BadRequest(ValueError):
    """`spec.request` is not a PEM PKCS#10 request with a valid signature."""


def parse_request(encoded: str) -> x509.CertificateSigningRequest:
    """The request in `spec.request` (base64 of PEM, as it travels in JSON)."""
    try:
        pem = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"not base64: {exc}") from exc
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise BadRequest("PEM block type must be CERTIFICATE REQUEST")
    try:
        request = x509.load_pem_x509_csr(pem)
    except ValueError as exc:
        raise BadRequest(f"not a certificate request: {exc}") from exc
    if not request.is_signature_valid:
        raise BadRequest("the request's signature does not match its public key")
    try:
        request.extensions  # noqa: B018 - parsed lazily: a duplicated extension fails here
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise BadRequest(f"the request's extensions cannot be read: {exc}") from exc
    return request


def user_name(common_names: Sequence[str]) -> str:
    """The user a certificate subject names: its LAST common name, as Go's `pkix.Name`
    (and so kube-apiserver's x509 authenticator) reads it: the signers' rule, the same as the
    authenticators' (kube/certificates/peer_subject.py)."""
    return common_names[-1] if common_names else ""


def subject_of(request: x509.CertificateSigningRequest) -> tuple[str, list[str]]:
    """The request's user (see `user_name`) and O values."""
    cn = [str(a.value) for a in request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = [str(a.value)
            for a in request.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return user_name(cn), orgs


def ambiguous_subject(request: x509.CertificateSigningRequest) -> str | None:
    """Why the subject may read as more than one user (None: it names one): several CNs,
    or a multi-valued RDN. A kubelet signer signs only unambiguous subjects."""
    cn = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cn) != 1:
        return f"subject must have exactly one common name, not {len(cn)}"
    if any(len(rdn) > 1 for rdn in request.subject.rdns):
        return "subject may not have multi-valued relative distinguished names"
    return None


@dataclass(frozen=True)
class RequestedNames:
    dns: tuple[str, ...]
    ips: tuple[str, ...]
    others: int  # emails, URIs, anything else


def requested_names(request: x509.CertificateSigningRequest) -> RequestedNames:
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return RequestedNames((), (), 0)
    dns = tuple(str(n) for n in sans.get_values_for_type(x509.DNSName))
    ips = tuple(str(n) for n in sans.get_values_for_type(x509.IPAddress))
    return RequestedNames(dns, ips, len(list(sans)) - len(dns) - len(ips))


def signer_refusal(signer: str, request: x509.CertificateSigningRequest,
                   usages: list[str]) -> str | None:
    """Why `signer` may not sign `request` with `usages` (None: it may), as upstream's
    csrsigning controller checks before it signs."""
    cn, orgs = subject_of(request)
    names = requested_names(request)
    wanted = set(usages)
    if signer in (KUBELET_CLIENT_SIGNER, KUBELET_SERVING_SIGNER):
        ambiguous = ambiguous_subject(request)
        if ambiguous:
            return ambiguous
    if signer == KUBELET_CLIENT_SIGNER:
        if orgs != [NODES_GROUP]:
            return f"subject organization must be exactly [{NODES_GROUP}], not {orgs}"
        if not cn.startswith(NODE_PREFIX) or cn == NODE_PREFIX:
            return f"subject common name must be {NODE_PREFIX}<node name>, not {cn!r}"
        if names.dns or names.ips or names.others:
            return "a kubelet client certificate may not have subject alternative names"
        if wanted not in _CLIENT_USAGES:
            return (f"usages must be [digital signature, client auth] (key encipherment "
                    f"allowed), not {sorted(wanted)}")
        return None
    if signer == KUBELET_SERVING_SIGNER:
        if orgs != [NODES_GROUP]:
            return f"subject organization must be exactly [{NODES_GROUP}], not {orgs}"
        if not cn.startswith(NODE_PREFIX) or cn == NODE_PREFIX:
            return f"subject common name must be {NODE_PREFIX}<node name>, not {cn!r}"
        if not names.dns and not names.ips:
            return "a kubelet serving certificate needs at least one DNS name or IP address"
        if names.others:
            return "a kubelet serving certificate may only name DNS names and IP addresses"
        if wanted not in _SERVING_USAGES:
            return (f"usages must be [digital signature, server auth] (key encipherment "
                    f"allowed), not {sorted(wanted)}")
        return None
    if signer == KUBE_APISERVER_CLIENT_SIGNER:  # any subject; client usages only (upstream)
        if "client auth" not in wanted:
            return "missing required usage for client certificate: client auth"
        extra = sorted(wanted - {"client auth", "digital signature", "key encipherment"})
        if extra:
            return f"invalid usage for client certificate: {extra[0]}"
        return None
    return f"signer {signer!r} is not one this cluster signs"


def issue(request: x509.CertificateSigningRequest, usages: list[str],
          ca_cert: x509.Certificate, ca_key: CertificateIssuerPrivateKeyTypes,
          duration: datetime.timedelta = DEFAULT_DURATION,
          now: datetime.datetime | None = None) -> bytes:
    """The PEM certificate the CA issues for `request` (subject and SANs as requested), valid
    for `duration` but at most one year (`DEFAULT_DURATION`, upstream's
    `--cluster-signing-duration` default) and never past the CA's own end."""
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    not_after = min(moment + min(duration, DEFAULT_DURATION), ca_cert.not_valid_after_utc)
    extended = []
    if "server auth" in usages:
        extended.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if "client auth" in usages:
        extended.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(ca_cert.subject)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment="key encipherment" in usages, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
            decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
    )
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    try:
        sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = builder.add_extension(sans, critical=False)
    except x509.ExtensionNotFound:
        pass
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)
