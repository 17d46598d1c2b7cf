"""Service-account tokens: JWTs signed with the lab's service-account key (ES256), by PyJWT.

A TokenRequest (`serviceaccounts/<name>/token`, what the kubelet asks for to fill a projected
`serviceAccountToken` volume) gets a JWT with upstream's claims: `iss`, `sub`
(`system:serviceaccount:<ns>:<name>`), `aud`, `exp`/`iat`/`nbf`, and the `kubernetes.io` claim
naming the namespace, the service account and, if bound, the pod. The header's `kid` is
upstream's key ID (the unpadded base64url SHA-256 of the public key's DER). Verification is
PyJWT's: the algorithm must be ES256 (a token saying `none` or `HS256` is refused before any
signature check), the signature must match, `exp` must be in the future and `nbf` in the past,
`iss` must be this issuer, and `exp`, `iat`, `nbf`, `iss` and `sub` must be present. The
authenticator then maps the subject to a user with the service-account groups; which audiences
count is the caller's decision (`access.authenticate_token`).
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "https://kubernetes.default.svc.cluster.local"
AUDIENCE = ISSUER
ALGORITHM = "ES256"
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "sub"]


def openid_configuration() -> dict[str, Any]:
    """`/.well-known/openid-configuration` of the service account issuer (upstream's fields;
    the JWKS at the issuer's `/openid/v1/jwks`)."""
    return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/openid/v1/jwks",
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM]}


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """upstream's `keyIDFromPublicKey`: base64url (unpadded) of SHA-256 of the PKIX DER."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


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
        self.key_id = key_id(key.public_key())

    def issue(self, namespace: str, name: str, sa_uid: str, audiences: list[str],
              seconds: int, pod: dict[str, str] | None = None,
              now: int | None = None) -> tuple[str, int]:
        issued = int(time.time()) if now is None else now
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
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM,
                           headers={"kid": self.key_id})
        return token, issued + seconds

    def jwks(self) -> dict[str, Any]:
        """`/openid/v1/jwks`: the public key that verifies this issuer's tokens, as upstream
        publishes it (service account issuer discovery)."""
        key: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(),
                                                                 as_dict=True)
        return {"keys": [{"use": "sig", **key, "kid": self.key_id, "alg": ALGORITHM}]}

    def verify(self, token: str) -> TokenClaims | None:
        try:
            claims = jwt.decode(token, self._key.public_key(), algorithms=[ALGORITHM],
                                issuer=ISSUER,
                                options={"verify_aud": False, "require": REQUIRED_CLAIMS})
        except jwt.PyJWTError:
            return None
        info = claims.get("kubernetes.io") or {}
        if not isinstance(info, dict):
            return None
        audiences = claims.get("aud")
        pod = info.get("pod") or {}
        return TokenClaims(
            subject=str(claims.get("sub", "")),
            namespace=str(info.get("namespace", "")),
            service_account=str((info.get("serviceaccount") or {}).get("name", "")),
            audiences=([str(a) for a in audiences] if isinstance(audiences, list)
                       else [str(audiences)] if audiences else []),
            expires=int(claims["exp"]),
            service_account_uid=str((info.get("serviceaccount") or {}).get("uid", "")),
            pod_name=str(pod.get("name", "")),
            pod_uid=str(pod.get("uid", "")),
        )
