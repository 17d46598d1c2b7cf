"""Content digests as the OCI image spec writes them: `sha256:<64 hex>`.

Every blob nodelab stores or sends is named by its digest, and every blob it receives is checked
against the digest it was asked for before anything else sees it.
"""

from __future__ import annotations

import hashlib
import re

from nodelab.errors import NodelabError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class DigestMismatch(NodelabError):
    """A blob's content does not hash to the digest it was fetched by."""

    def __init__(self, what: str, expected: str, actual: str) -> None:
        super().__init__(
            f"digest mismatch for {what}: expected {expected}, got {actual} "
            "(the registry served corrupt or tampered content; nothing was kept)"
        )
        self.expected = expected
        self.actual = actual


def sha256_digest(data: bytes) -> str:
    """The OCI digest of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def validate_digest(digest: str) -> str:
    """Return `digest` if it is a well-formed sha256 digest, else raise."""
    if not _DIGEST.match(digest):
        raise NodelabError(f"invalid digest {digest!r}: expected sha256:<64 lowercase hex>")
    return digest


def verify(what: str, data: bytes, expected: str) -> None:
    """Raise DigestMismatch unless `data` hashes to `expected`."""
    actual = sha256_digest(data)
    if actual != expected:
        raise DigestMismatch(what, expected, actual)
