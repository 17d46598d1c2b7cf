"""Port-forward's set-up when the client goes away part-way: nothing of it is left open."""

from __future__ import annotations

import socket

import pytest

from nodelab.runtime.streaming import portforward
from nodelab.runtime.streaming.websocket import Connection

from .privileges import need_root


def test_a_client_gone_during_set_up_closes_the_ports_already_connected(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ports asked; the client leaves once the first is connected, so the second port's
    header cannot be sent. The first port's connection is shut down (its server sees the end)
    and forward_ports returns: the send raised out of it before, leaving that connection open
    and its pump thread blocked on a server that keeps an idle connection."""
    need_root()  # setns(2), even into the test's own network namespace
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)  # no connection at all fails the test rather than hanging it
    port = server.getsockname()[1]
    ours, theirs = socket.socketpair()
    connect = portforward.connect_in_netns

    def connect_then_the_client_leaves(netns_path: str, port: int) -> socket.socket:
        sock = connect(netns_path, port)
        theirs.close()
        return sock

    monkeypatch.setattr(portforward, "connect_in_netns", connect_then_the_client_leaves)
    with server, ours:
        portforward.forward_ports(Connection(ours), "/proc/self/ns/net", "sandbox", [port, port])
        accepted, _ = server.accept()
        with accepted:
            accepted.settimeout(10)
            assert accepted.recv(1) == b""
