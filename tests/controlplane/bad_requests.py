"""Certificate requests the `cryptography` builder refuses to make, signed properly (for
tests of how the API and the signers treat them)."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_SAN_OID = bytes.fromhex("0603551d11")  # 2.5.29.17
_IAN_OID = bytes.fromhex("0603551d12")  # 2.5.29.18, same length


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _read_tlv(data: bytes, at: int) -> tuple[int, int]:
    """(start of content, end of element) of the element at `at`."""
    first = data[at + 1]
    if first < 0x80:
        return at + 2, at + 2 + first
    size = first & 0x7F
    length = int.from_bytes(data[at + 2:at + 2 + size], "big")
    return at + 2 + size, at + 2 + size + length


def duplicated_san_request(cn: str = "system:node:n1") -> str:
    """base64 PEM of a well-signed request with TWO subjectAltName extensions."""
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("n1")]
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([
                   x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                   x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
               .add_extension(x509.SubjectAlternativeName(names), False)
               .add_extension(x509.IssuerAlternativeName(names), False)
               .sign(key, hashes.SHA256()))
    der = request.public_bytes(serialization.Encoding.DER)
    tbs = request.tbs_certrequest_bytes
    assert tbs.count(_IAN_OID) == 1
    patched = tbs.replace(_IAN_OID, _SAN_OID)
    outer_start, _ = _read_tlv(der, 0)
    _, tbs_end = _read_tlv(der, outer_start)
    _, algorithm_end = _read_tlv(der, tbs_end)
    algorithm = der[tbs_end:algorithm_end]
    signature = key.sign(patched, ec.ECDSA(hashes.SHA256()))
    body = patched + algorithm + _tlv(0x03, b"\x00" + signature)
    rebuilt = _tlv(0x30, body)
    pem = (b"-----BEGIN CERTIFICATE REQUEST-----\n"
           + base64.encodebytes(rebuilt) + b"-----END CERTIFICATE REQUEST-----\n")
    return base64.b64encode(pem).decode()
