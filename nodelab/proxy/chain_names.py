"""Chain names exactly as upstream kube-proxy computes them, so a learner can compare with kind.

iptables mode (`pkg/proxy/iptables/proxier.go`, `portProtoHash`): the chain of a service port is
a prefix plus the first 16 characters of base32(sha256(svcPortName + protocol)), where
svcPortName is `namespace/name:portName` (no `:` when the port has no name) and protocol is
lowercase. Endpoint chains hash svcPortName + protocol + `ip:port`. iptables chain names must
stay under 29 characters; `KUBE-SVC-` + 16 fits. Known value: `default/kubernetes:https` + `tcp`
gives `KUBE-SVC-NPX46M4PTMTKRN6Y` on every cluster.

nftables mode (`pkg/proxy/nftables/proxier.go`, `hashAndTruncate`): names may be long and
contain `/`, so they stay readable: `service-<hash8>-namespace/name/protocol/portName`, with the
hash taken over the readable part itself; endpoint chains add `__ip/port`. The affinity set of
an endpoint is `affinity-` + the endpoint's base name.
"""

from __future__ import annotations

import base64
import hashlib

from nodelab.proxy.servicemap import Endpoint, ServicePortName

SVC_PREFIX = "KUBE-SVC-"
SVL_PREFIX = "KUBE-SVL-"
FW_PREFIX = "KUBE-FW-"
EXT_PREFIX = "KUBE-EXT-"
SEP_PREFIX = "KUBE-SEP-"
SERVICE_CHAIN_PREFIXES = (SVC_PREFIX, SVL_PREFIX, FW_PREFIX, EXT_PREFIX, SEP_PREFIX)

NFT_NAME_LENGTH_MAX = 256
NFT_PREFIX_LENGTH_MAX = 16
NFT_BASE_LENGTH_MAX = NFT_NAME_LENGTH_MAX - NFT_PREFIX_LENGTH_MAX


def _b32sha256(text: str, chars: int) -> str:
    """The first `chars` (a multiple of 8) base32 characters of sha256(text).

    Base32 turns each 5 bytes into 8 characters on its own, so only the digest's first
    `chars * 5 // 8` bytes are encoded: the same prefix, several times faster (Python's
    b32encode is pure Python, and a sync names thousands of chains).
    """
    return base64.b32encode(hashlib.sha256(text.encode()).digest()[: chars * 5 // 8]).decode()


def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """Upstream `portProtoHash`: 16 base32 characters of sha256(name + protocol)."""
    return _b32sha256(service_port_name + protocol, 16)


def service_chain(name: ServicePortName, prefix: str = SVC_PREFIX) -> str:
    """`KUBE-SVC-<hash>` (or SVL/EXT/FW with another prefix) for a service port."""
    return prefix + port_proto_hash(str(name), name.protocol.lower())


def endpoint_chain(name: ServicePortName, endpoint: Endpoint | str) -> str:
    """`KUBE-SEP-<hash>` for one endpoint (`ip:port`) of a service port."""
    return SEP_PREFIX + _b32sha256(str(name) + name.protocol.lower() + str(endpoint), 16)


def is_iptables_service_chain(chain: str) -> bool:
    return chain.startswith(SERVICE_CHAIN_PREFIXES)


def hash_and_truncate(name: str) -> str:
    """Upstream nftables `hashAndTruncate`: `<hash8>-name`, cut to fit an nft name."""
    name = _b32sha256(name, 8) + "-" + name
    if len(name) > NFT_BASE_LENGTH_MAX:
        name = name[: NFT_BASE_LENGTH_MAX - 3] + "..."
    return name


def nft_service_base(name: ServicePortName) -> str:
    """`HASH-namespace/name/protocol/portName`, e.g. `ULMVA6XW-ns1/svc1/tcp/p80`."""
    protocol = name.protocol.lower()
    return hash_and_truncate(f"{name.namespace}/{name.name}/{protocol}/{name.port}")


def nft_endpoint_base(name: ServicePortName, endpoint: Endpoint | str) -> str:
    """`HASH-namespace/name/protocol/portName__ip/port`.

    For example `5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80`.
    """
    ip, _, port = str(endpoint).rpartition(":")
    ip = ip.strip("[]").replace(":", ".")
    protocol = name.protocol.lower()
    return hash_and_truncate(f"{name.namespace}/{name.name}/{protocol}/{name.port}__{ip}/{port}")


def is_nft_service_chain(chain: str) -> bool:
    """Service and endpoint chains are the only nft chains with a `/` in the name."""
    return "/" in chain
