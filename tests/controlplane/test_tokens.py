"""Service-account JWTs on PyJWT (auth/tokens.py): what verification refuses, as a table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from nodelab.controlplane.auth.tokens import AUDIENCE, ISSUER, TokenIssuer, key_id

pytestmark = pytest.mark.unit


@pytest.fixture
def issuer(tmp_path: Path) -> TokenIssuer:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "sa.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return TokenIssuer(path)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "sub": "system:serviceaccount:default:web",
                            "aud": [AUDIENCE], "iat": now, "nbf": now, "exp": now + 600,
                            "kubernetes.io": {"namespace": "default",
                                              "serviceaccount": {"name": "web", "uid": "u"}}}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_an_issued_token_verifies_with_its_claims_and_upstreams_key_id(
        issuer: TokenIssuer) -> None:
    token, expires = issuer.issue("default", "web", "u1", ["vault"], 600,
                                  pod={"name": "p", "uid": "pu"})
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == key_id(issuer._key.public_key()) and "=" not in header["kid"]
    found = issuer.verify(token)
    assert found is not None
    assert (found.subject, found.namespace, found.service_account, found.audiences,
            found.expires, found.service_account_uid, found.pod_name, found.pod_uid) == (
        "system:serviceaccount:default:web", "default", "web", ["vault"], expires, "u1", "p",
        "pu")


def _signed(issuer: TokenIssuer, body: dict[str, Any], algorithm: str = "ES256",
            key: Any = None) -> str:
    return jwt.encode(body, key if key is not None else issuer._key, algorithm=algorithm)


REFUSED: list[tuple[str, Any]] = [
    ("expired", lambda i: _signed(i, claims(exp=int(time.time()) - 5))),
    ("not yet valid (nbf)", lambda i: _signed(i, claims(nbf=int(time.time()) + 600))),
    ("another issuer", lambda i: _signed(i, claims(iss="https://evil"))),
    ("no exp", lambda i: _signed(i, claims(exp=None))),
    ("no nbf", lambda i: _signed(i, claims(nbf=None))),
    ("no sub", lambda i: _signed(i, claims(sub=None))),
    ("alg none", lambda i: jwt.encode(claims(), None, algorithm="none")),
    ("HS256 keyed with the public key", lambda i: _hs256(i)),
    ("signed by another key", lambda i: _signed(i, claims(),
                                               key=ec.generate_private_key(ec.SECP256R1()))),
    ("tampered payload", lambda i: _tampered(i)),
    ("not a JWT", lambda i: "not-a-token"),
]


def _hs256(issuer: TokenIssuer) -> str:
    """The classic key-confusion forgery, built by hand (PyJWT refuses to make it)."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    secret = issuer._key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _tampered(issuer: TokenIssuer) -> str:
    import base64
    import json

    head, body, signature = _signed(issuer, claims()).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


@pytest.mark.parametrize(("label", "make"), REFUSED, ids=[r[0] for r in REFUSED])
def test_verification_refuses(issuer: TokenIssuer, label: str, make: Any) -> None:
    assert issuer.verify(make(issuer)) is None
