"""ServiceView on the rules the real kube-proxy plan writes, inside a namespace of the test's
own: a Service with three endpoints, connections to its ClusterIP from inside the namespace,
and the counters that show which endpoint each connection was DNATed to."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

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
from nodelab.widgets.nat_rules import parse_iptables_save, service_paths
from nodelab.widgets.network_graph import HIGHLIGHT
from nodelab.widgets.service_view import ServiceView
from tests.widgets.conftest import needs_root

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


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def node_netns() -> Iterator[str]:
    """A node-like namespace where the endpoints are local addresses (connections are refused
    at once, but the first packet of each has gone through the nat table)."""
    name = f"nlw{secrets.token_hex(3)}-sv"
    run(["ip", "netns", "add", name])
    try:
        inside = ["ip", "-n", name]
        run([*inside, "link", "set", "lo", "up"])
        run([*inside, "addr", "add", "10.244.1.1/24", "dev", "lo"])
        run([*inside, "route", "add", "10.96.0.0/16", "dev", "lo"])
        yield name
    finally:
        run(["ip", "netns", "del", name], check=False)


def connect(netns: str, count: int) -> None:
    code = ("import socket\n"
            f"for _ in range({count}):\n"
            "    s = socket.socket()\n"
            "    s.settimeout(2)\n"
            "    try:\n"
            "        s.connect(('10.96.0.10', 80))\n"
            "    except OSError:\n"
            "        pass\n"
            "    s.close()\n")
    subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", code], check=True,
                   timeout=60)


@pytest.mark.slow
@pytest.mark.privileged
@needs_root
def test_live_counters_show_where_connections_went(node_netns: str) -> None:
    service = Service("demo", "web", "10.96.0.10", (ServicePortSpec(80, "TCP", "http", 0),))
    slice_ = EndpointSlice("demo", "web-abcde", "web", tuple(
        SliceEndpoint((ip,), ready=True, serving=True, terminating=False, node_name="node1")
        for ip in ENDPOINTS), (SlicePort(8080, "http", "TCP"),))
    proxier = Proxier(ProxyNode("node1"), "iptables", node_netns)
    proxier.start()
    view = ServiceView(node_netns, interval=0.1)
    try:
        proxier.sync(ProxyState.of([service], [slice_]))
        _w = view.widget
        view.start()
        (path,) = view.snapshot or ()
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
    finally:
        view.stop()
        proxier.remove_rules()
