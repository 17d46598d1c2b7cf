"""`nodelab proxy-plan`: the IPVS plan of a running lab's node, from its live Services and
EndpointSlices, shown and not applied (the lab's kube-proxy keeps its own mode)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.lab import Lab
from nodelab.lab.proxy_plan import proxy_plan_text
from tests.conftest import needs_root
from tests.lab.kube import eventually, in_node, kubectl_json

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]


def test_the_ipvs_plan_of_a_live_lab(cluster: Lab) -> None:
    dns = eventually(lambda: [
        a for s in kubectl_json(cluster, "get", "endpointslices", "-n", "kube-system", "-l",
                                "kubernetes.io/service-name=kube-dns")["items"]
        for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready")
        for a in e["addresses"]])
    api = kubectl_json(cluster, "get", "endpointslices", "-n", "default", "-l",
                       "kubernetes.io/service-name=kubernetes")["items"][0]
    api_ip, api_port = api["endpoints"][0]["addresses"][0], api["ports"][0]["port"]
    text = proxy_plan_text(cluster, "node1", "ipvs")
    assert text.startswith("== kube-proxy IPVS mode on node1: PLAN ONLY (not applied) ==\n")
    assert f"TCP  10.96.0.1:443 rr\n  -> {api_ip}:{api_port}" in text
    assert f"UDP  10.96.0.10:53 rr\n  -> {dns[0]}:53" in text
    assert "10.96.0.1/32 10.96.0.10/32" in text  # kube-ipvs0's addresses
    assert "add KUBE-CLUSTER-IP 10.96.0.10,udp:53 -exist" in text
    assert "NodePort addresses assumed" not in text  # read from the node as root
    # nothing was applied: the node still runs iptables mode, with no ipvs chain or link
    rules = in_node(cluster, "iptables-save", "-t", "nat").stdout
    assert "KUBE-SVC-" in rules and "KUBE-LOOP-BACK" not in rules
    assert "kube-ipvs0" not in in_node(cluster, "ip", "link").stdout


def test_nodelab_proxy_plan_cli(cluster: Lab) -> None:
    done = subprocess.run([sys.executable, "-m", "nodelab", "proxy-plan", "--name", cluster.name,
                           "--mode", "ipvs", "--scheduler", "wlc"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "TCP  10.96.0.1:443 wlc" in done.stdout
    other = subprocess.run([sys.executable, "-m", "nodelab", "proxy-plan", "--name",
                            cluster.name, "--mode", "nftables"], capture_output=True, text=True,
                           timeout=60)
    assert other.returncode == 0, other.stderr
    assert other.stdout.startswith("== kube-proxy nftables mode on node1: PLAN ONLY (not "
                                   "applied) (the lab runs iptables mode) ==\n")
    with pytest.raises(NodelabError, match=f"lab {cluster.name} has no node 'node9': its "
                                           "nodes are node1"):
        proxy_plan_text(cluster, "node9")
