"""Golden tests: chain names equal upstream kube-proxy's for the same service ports.

The expected values are computed here from the formula in worker-node-facts.md, written out
independently of nodelab's code (sha256 -> RFC 4648 base32 -> first 16 characters), and checked
against names every kind cluster shows (`default/kubernetes:https` is always
KUBE-SVC-NPX46M4PTMTKRN6Y) and the examples in upstream's nftables proxier source.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from nodelab.proxy import ServicePortName, endpoint_chain, nft_endpoint_base, service_chain
from nodelab.proxy.chain_names import EXT_PREFIX, SVL_PREFIX, hash_and_truncate

pytestmark = pytest.mark.unit


def expected_hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()[:16]


@pytest.mark.parametrize(
    ("ns", "name", "port", "proto", "chain"),
    [
        ("default", "kubernetes", "https", "TCP", "KUBE-SVC-NPX46M4PTMTKRN6Y"),
        ("kube-system", "kube-dns", "dns", "UDP", "KUBE-SVC-TCOU7JCQXEZGVUNU"),
        ("kube-system", "kube-dns", "dns-tcp", "TCP", "KUBE-SVC-ERIFXISQEP7F7OF4"),
        ("kube-system", "kube-dns", "metrics", "TCP", "KUBE-SVC-JD5MR3NA4I4DYORP"),
    ],
)
def test_well_known_cluster_chains(ns: str, name: str, port: str, proto: str, chain: str) -> None:
    assert service_chain(ServicePortName(ns, name, port, proto)) == chain


@pytest.mark.parametrize(
    ("spn", "text"),
    [
        (ServicePortName("demo", "web", "http", "TCP"), "demo/web:httptcp"),
        (ServicePortName("demo", "web", "", "TCP"), "demo/webtcp"),
        (ServicePortName("ns1", "dns", "dns", "UDP"), "ns1/dns:dnsudp"),
        (ServicePortName("ns1", "sctp", "s", "SCTP"), "ns1/sctp:ssctp"),
    ],
)
def test_service_chains_follow_the_formula(spn: ServicePortName, text: str) -> None:
    assert service_chain(spn) == "KUBE-SVC-" + expected_hash(text)
    assert service_chain(spn, SVL_PREFIX) == "KUBE-SVL-" + expected_hash(text)
    assert service_chain(spn, EXT_PREFIX) == "KUBE-EXT-" + expected_hash(text)
    assert len(service_chain(spn)) <= 28


def test_endpoint_chain_hashes_name_protocol_and_endpoint() -> None:
    spn = ServicePortName("demo", "web", "http", "TCP")
    assert endpoint_chain(spn, "10.244.1.2:8080") == "KUBE-SEP-" + expected_hash(
        "demo/web:httptcp10.244.1.2:8080"
    )


def test_nft_names_match_upstream_examples() -> None:
    # The examples in the comments of upstream's pkg/proxy/nftables/proxier.go.
    spn = ServicePortName("ns1", "svc1", "p80", "TCP")
    from nodelab.proxy import nft_service_base

    assert nft_service_base(spn) == "ULMVA6XW-ns1/svc1/tcp/p80"
    assert nft_endpoint_base(spn, "10.180.0.1:80") == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"


def test_nft_long_names_are_truncated_with_hash_kept() -> None:
    name = "x" * 300
    out = hash_and_truncate(name)
    assert len(out) == 240 and out.endswith("...")
    assert out.startswith(expected_hash(name)[:8] + "-")
