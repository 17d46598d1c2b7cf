"""The CSR API in process (the handler chain on a real store, no HTTP): who is recorded as
the requester, and malformed or condition-dropping status updates are 422s, not 500s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nodelab.controlplane.auth.access import Identity
from nodelab.controlplane.auth.tokens import TokenIssuer
from nodelab.controlplane.http.dispatch import Api
from nodelab.controlplane.http.messages import Request, Response
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.storage.store import Store
from tests.controlplane.test_csr import APPROVED, CLIENT, csr, request_pem

BASE = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
ADMIN = Identity("admin", ("system:masters", "system:authenticated"))
USAGES = ["digital signature", "client auth"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "sa.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    yield Api(Registry(Store(tmp_path / "db")), TokenIssuer(tmp_path / "sa.key"), "127.0.0.1")


def call(api: Api, method: str, path: str, body: Any = None,
         content_type: str = "application/json", identity: Identity = ADMIN) -> Response:
    raw = json.dumps(body).encode() if body is not None else b""
    return api.handle(Request(method, path, {"content-type": content_type}, raw, identity))


def created(api: Api, name: str) -> dict[str, Any]:
    response = call(api, "POST", BASE, csr(name, request_pem("system:node:n1", ["system:nodes"]),
                                           CLIENT, USAGES))
    assert response.code == 201, response.body
    assert response.body is not None
    return response.body


def test_apply_create_records_the_caller_not_the_claimed_requester(api: Api) -> None:
    body = csr("applied", request_pem("system:node:x", ["system:nodes"]), CLIENT, USAGES)
    body["spec"].update(username="system:node:x", groups=["system:nodes"], uid="u1",
                        extra={"k": ["v"]})
    response = call(api, "PATCH", f"{BASE}/applied?fieldManager=t", body,
                    "application/apply-patch+yaml")
    assert response.code == 201, response.body
    stored = call(api, "GET", f"{BASE}/applied").body
    assert stored is not None
    assert stored["spec"]["username"] == "admin"
    assert stored["spec"]["groups"] == ["system:masters", "system:authenticated"]
    assert "uid" not in stored["spec"] and "extra" not in stored["spec"]


MALFORMED: tuple[Any, ...] = ({"conditions": ["x"]}, {"conditions": {}}, "x",
                              {"conditions": [{"type": {}}]})


@pytest.mark.parametrize(("subresource", "status"), [
    *[(sub, status) for sub in ("approval", "status") for status in MALFORMED],
    ("status", {"conditions": APPROVED, "certificate": ["x"]}),
])
def test_malformed_status_is_a_400_naming_the_field(api: Api, subresource: str,
                                                    status: Any) -> None:
    """Wrong JSON types fail upstream's strict decoding (400, Go's text), before validation."""
    current = created(api, "m")
    response = call(api, "PUT", f"{BASE}/m/{subresource}", {**current, "status": status})
    assert response.code == 400, response.body
    assert response.body is not None
    message = response.body["message"]
    assert message.startswith('CertificateSigningRequest in version "v1" cannot be handled as '
                              "a CertificateSigningRequest: json: cannot unmarshal "), message
    assert "Go struct field CertificateSigningRequest" in message and ".status" in message


def test_failed_condition_stays_like_approved_and_denied(api: Api) -> None:
    current = created(api, "f")
    failed = {"type": "Failed", "status": "True", "reason": "SignerValidationFailure"}
    approved = call(api, "PUT", f"{BASE}/f/approval",
                    {**current, "status": {"conditions": APPROVED}}).body
    assert approved is not None
    marked = call(api, "PUT", f"{BASE}/f/status",
                  {**approved, "status": {"conditions": [*APPROVED, failed]}})
    assert marked.code == 200, marked.body
    assert marked.body is not None
    for subresource in ("status", "approval"):
        dropped = call(api, "PUT", f"{BASE}/f/{subresource}",
                       {**marked.body, "status": {"conditions": APPROVED}})
        assert dropped.code == 422, (subresource, dropped.body)
        assert dropped.body is not None and "Failed" in dropped.body["message"]
