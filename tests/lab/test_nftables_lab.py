"""A lab whose kube-proxy runs in nftables mode: the `ip kube-proxy` table in the node's
namespace carries the Service, requests spread over every endpoint, and a Service without
endpoints is refused (rejected, not dropped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import needs_root, one_node_lab
from tests.lab.kube import eventually, in_node, kubectl, kubectl_json, ready_pods

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


@pytest.fixture(scope="module")
def nft_lab() -> Iterator[Lab]:
    with one_node_lab(proxy_mode="nftables") as lab:
        yield lab


def test_services_in_nftables_mode(nft_lab: Lab) -> None:
    assert nft_lab.description.proxy_mode == "nftables"
    kubectl(nft_lab, "create", "deployment", "web", f"--image={nft_lab.images.ref('web')}",
            "--replicas=3")
    kubectl(nft_lab, "expose", "deployment", "web", "--port=80", "--target-port=8080")
    pods = eventually(lambda: len(ready_pods(nft_lab, "app=web")) == 3
                      and ready_pods(nft_lab, "app=web"))
    cluster_ip = kubectl_json(nft_lab, "get", "svc", "web")["spec"]["clusterIP"]
    eventually(lambda: cluster_ip in in_node(nft_lab, "nft", "list", "table", "ip",
                                             "kube-proxy").stdout)
    assert "KUBE-SERVICES" not in in_node(nft_lab, "iptables-save", "-t", "nat").stdout

    def spread() -> dict[str, int]:
        counts: dict[str, int] = {}
        for _ in range(60):
            reply = in_node(nft_lab, "curl", "-s", "-m", "2", f"http://{cluster_ip}/").stdout
            counts[reply.strip()] = counts.get(reply.strip(), 0) + 1
        return counts

    counts = eventually(lambda: (c := spread()) and len(c) == 3 and c, timeout=30)
    assert {k.split()[-1] for k in counts} == {p["metadata"]["name"] for p in pods}
    kubectl(nft_lab, "create", "service", "clusterip", "empty", "--tcp=80:8080")
    empty_ip = kubectl_json(nft_lab, "get", "svc", "empty")["spec"]["clusterIP"]
    eventually(lambda: empty_ip in in_node(nft_lab, "nft", "list", "table", "ip",
                                           "kube-proxy").stdout)
    # rejected (ICMP port unreachable: curl's 7, "Couldn't connect"), not dropped (a timeout
    # would be curl's 28)
    refused = in_node(nft_lab, "curl", "-s", "-m", "20", f"http://{empty_ip}/")
    assert refused.returncode == 7, (refused.returncode, refused.stderr)
