"""ServiceView on the rules the real kube-proxy plan writes, inside a namespace of the test's
own: a Service with three endpoints, connections to its ClusterIP from inside the namespace,
and the counters that show which endpoint each connection was DNATed to."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest

from nodelab.host.commands import run
from nodelab.proxy import (
    EndpointSlice,
    Proxier,
    ProxyNode,
    ProxyState,
    Service,
    ServicePortSpec,
    SliceEndpoint,
    SlicePort,
)
from nodelab.widgets.connections import parse_conntrack
from nodelab.widgets.nat_rules import parse_iptables_save, service_paths
from nodelab.widgets.network_graph import HIGHLIGHT
from nodelab.widgets.nft_rules import nft_service_paths
from nodelab.widgets.service_view import ServiceView
from tests.widgets.conftest import needs_root, wait_for

ENDPOINTS = ("10.244.1.11", "10.244.1.12", "10.244.1.13")

SAVED = """*nat
:KUBE-SERVICES - [0:0]
[4:240] -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "demo/web:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAA
[0:0] -A KUBE-SVC-AAA -m comment --comment "demo/web:http -> 10.244.1.11:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-ONE
[0:0] -A KUBE-SVC-AAA -m comment --comment "demo/web:http -> 10.244.1.12:8080" -j KUBE-SEP-TWO
[3:180] -A KUBE-SEP-ONE -p tcp -m comment --comment "demo/web:http" -m tcp -j DNAT --to-destination 10.244.1.11:8080
[1:60] -A KUBE-SEP-TWO -p tcp -m comment --comment "demo/web:http" -m tcp -j DNAT --to-destination 10.244.1.12:8080
COMMIT
"""  # noqa: E501


@pytest.mark.unit
def test_service_paths_follow_the_jumps() -> None:
    (path,) = service_paths(parse_iptables_save(SAVED))
    assert (path.name, path.address, path.chain, path.packets) == (
        "demo/web:http", "10.96.0.10:80", "KUBE-SVC-AAA", 4)
    assert [(e.chain, e.destination, e.probability, e.packets) for e in path.endpoints] == [
        ("KUBE-SEP-ONE", "10.244.1.11:8080", 0.5, 3), ("KUBE-SEP-TWO", "10.244.1.12:8080", 0.5, 1)]


@pytest.fixture
def node_netns() -> Iterator[str]:
    """A node-like namespace where the endpoints are local addresses, with one listener on
    :8080 (started here, killed by PID) that accepts and closes every connection."""
    name = f"nlw{secrets.token_hex(3)}-sv"
    run(["ip", "netns", "add", name])
    try:
        inside = ["ip", "-n", name]
        run([*inside, "link", "set", "lo", "up"])
        run([*inside, "addr", "add", "10.244.1.1/24", "dev", "lo"])
        run([*inside, "route", "add", "10.96.0.0/16", "dev", "lo"])
        server = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", LISTENER])
        try:
            assert wait_for(lambda: ":8080 " in run(["ip", "netns", "exec", name, "ss", "-ltnH"])
                            .stdout), "the listener did not start"
            yield name
        finally:
            server.kill()
            server.wait()
    finally:
        run(["ip", "netns", "del", name], check=False)


LISTENER = """
import socket
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", 8080))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    conn.close()
"""


def connect(netns: str, count: int) -> None:
    code = ("import socket\n"
            f"for _ in range({count}):\n"
            "    s = socket.socket()\n"
            "    s.settimeout(5)\n"
            "    s.connect(('10.96.0.10', 80))\n"
            "    s.recv(1)\n"
            "    s.close()\n")
    subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", code], check=True,
                   timeout=60)


CONNTRACK = """\
tcp      6 8 CLOSE src=10.244.1.1 dst=10.96.0.10 sport=40312 dport=80 src=10.244.1.12 dst=10.244.1.1 sport=8080 dport=40312 mark=0 use=1
udp      17 29 src=127.0.0.1 dst=127.0.0.53 sport=5000 dport=53 [UNREPLIED] src=127.0.0.53 dst=127.0.0.1 sport=53 dport=5000 mark=0 use=1
"""  # noqa: E501

NFT = {"nftables": [
    {"map": {"name": "service-ips", "elem": [[
        {"concat": ["10.96.0.10", "tcp", 80]},
        {"goto": {"target": "service-AXK6-demo/web/tcp/http"}}]]}},
    {"rule": {"chain": "service-AXK6-demo/web/tcp/http", "expr": [{"vmap": {
        "key": {"numgen": {"mode": "random", "mod": 2, "offset": 0}},
        "data": {"set": [
            [0, {"goto": {"target": "endpoint-S4-demo/web/tcp/http__10.244.1.11/8080"}}],
            [1, {"goto": {"target": "endpoint-PK-demo/web/tcp/http__10.244.1.12/8080"}}]]}}}]}},
    {"rule": {"chain": "endpoint-S4-demo/web/tcp/http__10.244.1.11/8080",
              "expr": [{"dnat": {"addr": "10.244.1.11", "port": 8080}}]}},
    {"rule": {"chain": "endpoint-PK-demo/web/tcp/http__10.244.1.12/8080",
              "expr": [{"dnat": {"addr": "10.244.1.12", "port": 8080}}]}},
]}  # noqa: E501


@pytest.mark.unit
def test_conntrack_reply_direction_names_the_endpoint() -> None:
    first, second = parse_conntrack(CONNTRACK)
    assert (first.client, first.service, first.endpoint, first.state) == (
        "10.244.1.1:40312", "10.96.0.10:80", "10.244.1.12:8080", "CLOSE")
    assert first.translated and not second.translated


@pytest.mark.unit
def test_nft_service_paths_follow_the_map_and_numgen() -> None:
    (path,) = nft_service_paths(NFT)
    assert (path.name, path.address) == ("demo/web:http", "10.96.0.10:80")
    assert [(e.destination, e.probability) for e in path.endpoints] == [
        ("10.244.1.11:8080", 0.5), ("10.244.1.12:8080", 0.5)]


@pytest.mark.slow
@pytest.mark.privileged
@needs_root
@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_live_counts_show_where_connections_went(node_netns: str, mode: str) -> None:
    service = Service("demo", "web", "10.96.0.10", (ServicePortSpec(80, "TCP", "http", 0),))
    slice_ = EndpointSlice("demo", "web-abcde", "web", tuple(
        SliceEndpoint((ip,), ready=True, serving=True, terminating=False, node_name="node1")
        for ip in ENDPOINTS), (SlicePort(8080, "http", "TCP"),))
    proxier = Proxier(ProxyNode("node1"), mode, node_netns)
    proxier.start()
    view = ServiceView(node_netns, interval=0.1)
    try:
        proxier.sync(ProxyState.of([service], [slice_]))
        _w = view.widget
        view.start()
        assert view.snapshot is not None and view.snapshot.mode == mode
        (path,) = view.snapshot.paths
        assert path.name == "demo/web:http" and path.address == "10.96.0.10:80"
        assert sorted(e.destination for e in path.endpoints) == [f"{ip}:8080" for ip in ENDPOINTS]
        assert sum(e.probability for e in path.endpoints) == pytest.approx(1.0, abs=1e-3)

        connect(node_netns, 30)
        assert wait_for(lambda: sum(view.hits()["demo/web:http"].values()) == 30), view.hits()
        spread = view.hits()["demo/web:http"]
        assert all(n > 0 for n in spread.values()), f"30 connections, spread {spread}"
        assert wait_for(lambda: HIGHLIGHT in view.body.value), "no endpoint highlighted"

        view.mark()
        connect(node_netns, 1)
        assert wait_for(lambda: sum(view.hits()["demo/web:http"].values()) == 1)
        (hit,) = [d for d, n in view.hits()["demo/web:http"].items() if n == 1]
        assert wait_for(lambda: view.body.value.count(HIGHLIGHT) >= 1)
        assert hit in view.static_html()
        (latest,) = [c for c in view.new_connections() if c.translated]
        assert latest.service == "10.96.0.10:80" and latest.endpoint == hit
    finally:
        view.stop()
        proxier.remove_rules()
