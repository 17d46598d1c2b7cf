"""How much of a request body the API server will read, decided from the headers alone.

kube-apiserver caps request bodies at 3 MiB (`--max-request-body-bytes`, 3145728) and answers a
larger one with 413 `RequestEntityTooLarge`; Go's net/http answers a malformed or contradictory
`Content-Length` with 400 and reads chunked bodies. The decision is made before a byte of the
body is read, and only for an authenticated client: an anonymous request is answered without
reading its body at all (`server.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class BodyPlan:
    """Read `length` bytes, or (chunked) decode chunks up to the cap."""

    length: int = 0
    chunked: bool = False


@dataclass(frozen=True)
class Refusal:
    code: int
    reason: str
    message: str

    def status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}


def too_large(limit: int = MAX_REQUEST_BODY_BYTES) -> Refusal:
    return Refusal(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def body_plan(headers: Mapping[str, str], limit: int = MAX_REQUEST_BODY_BYTES
              ) -> BodyPlan | Refusal:
    """What to read for a request with these (lower-cased, joined) headers."""
    encoding = headers.get("transfer-encoding", "").strip().lower()
    lengths = [v.strip() for v in headers.get("content-length", "").split(",") if v.strip()]
    if encoding:
        if encoding != "chunked":
            return Refusal(501, "NotImplemented",
                           f"unsupported transfer encoding: {encoding!r}")
        if lengths:
            return Refusal(400, "BadRequest",
                           "both Transfer-Encoding and Content-Length are set")
        return BodyPlan(chunked=True)
    if not lengths:
        return BodyPlan()
    if len(set(lengths)) > 1 or not all(v.isascii() and v.isdigit() for v in lengths):
        return Refusal(400, "BadRequest",
                       f"invalid Content-Length {headers.get('content-length')!r}")
    length = int(lengths[0])
    if length > limit:
        return too_large(limit)
    return BodyPlan(length=length)
