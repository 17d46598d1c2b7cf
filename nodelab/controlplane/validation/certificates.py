"""Validation of CertificateSigningRequests (upstream `ValidateCertificateSigningRequest*`).

Create: `spec.request` is a PEM PKCS#10 request with a valid signature, `spec.signerName` is
a qualified name (`example.com/signer`), `spec.usages` are known key usages,
`spec.expirationSeconds` is an int32 of at least 600. Status: `Approved` and `Denied` exclude
each other, condition types are non-empty and unique, and `status.certificate` holds PEM
certificates.
Update: the spec is immutable (only status and conditions change, through the `status` and
`approval` subresources).
"""

from __future__ import annotations

import base64
from typing import Any

from nodelab.controlplane.certificates import (
    KNOWN_USAGES,
    MAX_EXPIRATION_SECONDS,
    MIN_EXPIRATION_SECONDS,
    BadRequest,
    parse_request,
)
from nodelab.controlplane.validation.fields import FieldErrors

Object = dict[str, Any]
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
    conditions = status.get("conditions") or []
    types: set[str] = set()
    for i, condition in enumerate(conditions):
        path = f"status.conditions[{i}]"
        kind = (condition or {}).get("type")
        if not kind:
            errors.required(f"{path}.type")
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
    if certificate:
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
    old_decisions = {c.get("type") for c in (old.get("status") or {}).get("conditions") or []
                     if c.get("type") in ("Approved", "Denied")}
    new_decisions = {c.get("type") for c in (new.get("status") or {}).get("conditions") or []
                     if c.get("type") in ("Approved", "Denied")}
    for lost in sorted(str(t) for t in old_decisions - new_decisions):
        errors.forbidden("status.conditions", f"updates may not remove a condition of type "
                         f"{lost!r}")
    old_cert = (old.get("status") or {}).get("certificate")
    if old_cert and (new.get("status") or {}).get("certificate") != old_cert:
        errors.forbidden("status.certificate", "updates may not modify existing certificate "
                         "content")
