"""What `up`'s cluster DNS wait says when it times out: the kube-dns Service's endpoints and the
DNS pods as the API shows them, so the error names the part that is late."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.lab.addons.cluster_dns import what_dns_has

pytestmark = pytest.mark.unit


def endpoint(address: str, ready: bool, pod: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"addresses": [address], "conditions": {"ready": ready}}
    if pod:
        found["targetRef"] = {"kind": "Pod", "name": pod}
    return found


def pod(name: str, phase: str, ready: str, ip: str | None, restarts: int) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": [{"type": "Ready", "status": ready}],
                              "containerStatuses": [{"name": "coredns",
                                                     "restartCount": restarts}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": {"name": name}, "spec": {"nodeName": "node1"}, "status": status}


@pytest.mark.parametrize(("slices", "pods", "expected"), [
    ([], [], "kube-dns endpoints: none; DNS pods: none"),
    # after a reboot: the API still holds the old ready endpoint, the pod has not run again
    ([{"endpoints": [endpoint("10.244.0.3", True, "coredns-a")]}],
     [pod("coredns-a", "Running", "True", "10.244.0.3", 0)],
     "kube-dns endpoints: 10.244.0.3 ready (coredns-a); "
     "DNS pods: coredns-a on node1: Running, Ready True, IP 10.244.0.3, 0 restarts"),
    ([{"endpoints": [endpoint("10.244.0.7", False)]}, {"endpoints": None}],
     [pod("coredns-a", "Running", "False", "10.244.0.7", 3)],
     "kube-dns endpoints: 10.244.0.7 not ready; "
     "DNS pods: coredns-a on node1: Running, Ready False, IP 10.244.0.7, 3 restarts"),
    ([], [{"metadata": {"name": "coredns-b"}, "spec": {}, "status": {}}],
     "kube-dns endpoints: none; DNS pods: coredns-b on no node: Unknown, Ready Unknown, "
     "IP none, 0 restarts"),
])
def test_the_timeout_names_endpoints_and_pods(slices: list[dict[str, Any]],
                                               pods: list[dict[str, Any]],
                                               expected: str) -> None:
    assert what_dns_has(slices, pods) == expected
