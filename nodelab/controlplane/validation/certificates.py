"""Validation of CertificateSigningRequests (upstream `ValidateCertificateSigningRequest*`).

Create: `spec.request` is a PEM PKCS#10 request with a valid signature, `spec.signerName` is
a qualified name (`example.com/signer`; not `kubernetes.io/legacy-unknown`, as upstream's v1),
`spec.usages` are known key usages, `spec.expirationSeconds` is an int32 of at least 600.
Status: `Approved` and `Denied` exclude each other, condition types are non-empty and unique,
and `status.certificate` holds PEM certificates (not parsed further, unlike upstream).
Update: the spec is immutable (only status and conditions change, through the `status` and
`approval` subresources), and an `Approved`, `Denied` or `Failed` condition, once added, stays.
A malformed status (not an object, conditions not a list of objects) is a 422 naming the field.
"""

from __future__ import annotations

import base64

from nodelab.controlplane.auth.certificates import (
    KNOWN_USAGES,
    LEGACY_UNKNOWN_SIGNER,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    BadRequest,
    parse_request,
)
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object

CONDITION_STATUSES = ["True", "False", "Unknown"]


def validate_csr(errors: FieldErrors, csr: Object) -> None:
    spec = csr.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return
    request = spec.get("request")
    if not request:
        errors.required("spec.request")
    elif not isinstance(request, str):
        errors.invalid("spec.request", "<bytes>", "must be base64 of a PEM certificate request")
    else:
        try:
            parse_request(request)
        except BadRequest as exc:
            errors.invalid("spec.request", "<bytes>", str(exc))
    signer = spec.get("signerName")
    if not signer:
        errors.required("spec.signerName")
    elif not isinstance(signer, str) or "/" not in signer:
        errors.invalid("spec.signerName", signer, "must be a fully qualified domain and path "
                       "of the form 'example.com/signer-name'")
    elif signer == LEGACY_UNKNOWN_SIGNER:
        errors.invalid("spec.signerName", signer,
                       "the legacy signerName is not allowed via this API version")
    else:
        errors.qualified_name("spec.signerName", signer)
    usages = spec.get("usages")
    if not usages:
        errors.required("spec.usages")
    elif isinstance(usages, list):
        seen: set[str] = set()
        for i, usage in enumerate(usages):
            if usage not in KNOWN_USAGES:
                errors.unsupported(f"spec.usages[{i}]", usage, list(KNOWN_USAGES))
            elif usage in seen:
                errors.duplicate(f"spec.usages[{i}]", usage)
            seen.add(str(usage))
    else:
        errors.invalid("spec.usages", usages, "must be a list of key usages")
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool)):
        errors.invalid("spec.expirationSeconds", seconds, "must be an integer")
    elif seconds is not None and seconds < MIN_EXPIRATION_SECONDS:
        errors.invalid("spec.expirationSeconds", seconds,
                       f"may not specify a duration less than {MIN_EXPIRATION_SECONDS} seconds")
    elif seconds is not None and seconds > MAX_EXPIRATION_SECONDS:
        errors.invalid("spec.expirationSeconds", seconds,
                       f"must be at most {MAX_EXPIRATION_SECONDS} (an int32)")
    validate_csr_status(errors, csr)


def validate_csr_status(errors: FieldErrors, csr: Object) -> None:
    status = csr.get("status") or {}
    if not isinstance(status, dict):
        errors.invalid("status", status, "must be an object")
        return
    conditions = status.get("conditions")
    if conditions is None:
        conditions = []
    if not isinstance(conditions, list):
        errors.invalid("status.conditions", conditions, "must be a list of conditions")
        return
    types: set[str] = set()
    for i, condition in enumerate(conditions):
        path = f"status.conditions[{i}]"
        if not isinstance(condition, dict):
            errors.invalid(path, condition, "must be an object")
            continue
        kind = condition.get("type")
        if not kind:
            errors.required(f"{path}.type")
            continue
        if not isinstance(kind, str):
            errors.invalid(f"{path}.type", kind, "must be a string")
            continue
        if kind in types:
            errors.duplicate(f"{path}.type", kind)
        types.add(str(kind))
        value = (condition or {}).get("status")
        if value not in CONDITION_STATUSES:
            errors.unsupported(f"{path}.status", value, CONDITION_STATUSES)
        elif kind in ("Approved", "Denied") and value != "True":
            errors.unsupported(f"{path}.status", value, ["True"])
    if {"Approved", "Denied"} <= types:
        errors.invalid("status.conditions", "Approved",
                       "Approved and Denied conditions are mutually exclusive")
    certificate = status.get("certificate")
    if certificate and not isinstance(certificate, str):
        errors.invalid("status.certificate", "<certificate data>",
                       "must be base64 of PEM certificates")
    elif certificate:
        if "Approved" not in types:
            errors.forbidden("status.certificate",
                             "a certificate may only be set on an approved request")
        try:
            pem = base64.b64decode(certificate, validate=True)
        except (ValueError, TypeError):
            pem = b""
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            errors.invalid("status.certificate", "<certificate data>",
                           "must contain at least one PEM CERTIFICATE block")


def validate_csr_update(errors: FieldErrors, new: Object, old: Object) -> None:
    validate_csr_status(errors, new)
    if (new.get("spec") or {}) != (old.get("spec") or {}):
        errors.invalid("spec", "<spec>", "field is immutable")
    for lost in sorted(_lasting(old) - _lasting(new)):
        errors.forbidden("status.conditions", f"updates may not remove a condition of type "
                         f"{lost!r}")
    old_cert = _status(old).get("certificate")
    if old_cert and _status(new).get("certificate") != old_cert:
        errors.forbidden("status.certificate", "updates may not modify existing certificate "
                         "content")


LASTING_CONDITIONS = ("Approved", "Denied", "Failed")


def _status(csr: Object) -> Object:
    status = csr.get("status")
    return status if isinstance(status, dict) else {}


def _lasting(csr: Object) -> set[str]:
    """The conditions that, once added, stay (upstream: Approved, Denied and Failed)."""
    conditions = _status(csr).get("conditions")
    if not isinstance(conditions, list):
        return set()
    return {str(c.get("type")) for c in conditions
            if isinstance(c, dict) and c.get("type") in LASTING_CONDITIONS}
