"""Who a verified TLS client certificate names, as Kubernetes reads it: the user is the
subject's LAST common name (Go's `pkix.Name`), the groups are its organization (O) values. The
API server's x509 authenticator and the kubelet's read peers the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def peer_subject(peer: Mapping[str, Any] | None) -> tuple[str, tuple[str, ...]] | None:
    """(user, groups) of a peer certificate as `ssl.SSLSocket.getpeercert()` returns it; None
    without a certificate or a common name."""
    if not peer:
        return None
    common_names, groups = [], []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                common_names.append(str(value))
            elif key == "organizationName":
                groups.append(str(value))
    if not common_names:
        return None
    return common_names[-1], tuple(groups)
