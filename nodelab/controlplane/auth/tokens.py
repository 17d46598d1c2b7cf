"""Service-account tokens: JWTs signed with the lab's service-account key (ES256).

A TokenRequest (`serviceaccounts/<name>/token`, what the kubelet asks for to fill a projected
`serviceAccountToken` volume) gets a JWT with upstream's claims: `iss`, `sub`
(`system:serviceaccount:<ns>:<name>`), `aud`, `exp`/`iat`/`nbf`, and the `kubernetes.io` claim
naming the namespace, the service account and, if bound, the pod. The authenticator verifies
the signature and expiry and maps the subject to a user with the service-account groups.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDIENCE = ISSUER


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    namespace: str
    service_account: str
    audiences: list[str]
    expires: int
    service_account_uid: str = ""
    pod_name: str = ""  # a token bound to a pod (TokenRequest boundObjectRef)
    pod_uid: str = ""


class TokenIssuer:
    def __init__(self, key_path: Path) -> None:
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC key")
        self._key = key

    def issue(self, namespace: str, name: str, sa_uid: str, audiences: list[str],
              seconds: int, pod: dict[str, str] | None = None) -> tuple[str, int]:
        issued = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "aud": audiences or [AUDIENCE],
            "iat": issued, "nbf": issued, "exp": issued + seconds,
            "kubernetes.io": {"namespace": namespace,
                              "serviceaccount": {"name": name, "uid": sa_uid}},
        }
        if pod:
            claims["kubernetes.io"]["pod"] = pod
        header = {"alg": "ES256", "typ": "JWT", "kid": "nodelab"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64(signature)}", issued + seconds

    def verify(self, token: str) -> TokenClaims | None:
        try:
            head, body, sig = token.split(".")
            raw = _unb64(sig)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big"))
            self._key.public_key().verify(der, f"{head}.{body}".encode(),
                                          ec.ECDSA(hashes.SHA256()))
            claims = json.loads(_unb64(body))
        except (ValueError, InvalidSignature, json.JSONDecodeError):
            return None
        if claims.get("iss") != ISSUER or int(claims.get("exp", 0)) < time.time():
            return None
        info = claims.get("kubernetes.io") or {}
        audiences = claims.get("aud")
        pod = info.get("pod") or {}
        return TokenClaims(
            subject=str(claims.get("sub", "")),
            namespace=str(info.get("namespace", "")),
            service_account=str((info.get("serviceaccount") or {}).get("name", "")),
            audiences=audiences if isinstance(audiences, list) else [str(audiences)],
            expires=int(claims["exp"]),
            service_account_uid=str((info.get("serviceaccount") or {}).get("uid", "")),
            pod_name=str(pod.get("name", "")),
            pod_uid=str(pod.get("uid", "")),
        )
