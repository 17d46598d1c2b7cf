"""The small REST client's kept-alive connections (kube/connections.py), against a real API
server: requests reuse one connection; one the server closed while it was idle is not reused;
a request that meets a connection closed under it is sent again only when it may be replayed."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator

import pytest

from nodelab.host.readiness import readable
from nodelab.kube import connections
from nodelab.kube.restclient import RestClient
from tests.controlplane.apiserver import RunningApiServer, running_apiserver


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    with running_apiserver() as server:
        yield server


def _idle_port(rest: RestClient) -> int:
    conn, reused = rest.pool.take(5)
    assert reused, "no kept connection"
    port = int(conn.sock.getsockname()[1])
    rest.pool.give_back(conn, _read_response(conn))
    return port


def _read_response(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    conn.request("GET", "/version")
    response = conn.getresponse()
    response.read()
    return response


def _closed_by_server(rest: RestClient) -> None:
    """Make the server close the kept connection, as its idle timeout does, and wait until
    the client side sees it."""
    conn, _ = rest.pool.take(5)
    conn.sock.shutdown(socket.SHUT_WR)  # the server reads EOF and closes its end
    deadline = time.monotonic() + 10
    while not readable([conn.sock], 0.1):
        assert time.monotonic() < deadline, "the server did not close the connection"
    with rest.pool._lock:  # back among the idle ones, as if it had waited there
        rest.pool._idle.append((conn, time.monotonic()))


def test_requests_reuse_a_kept_connection(apiserver: RunningApiServer) -> None:
    rest = RestClient.from_kubeconfig(apiserver.kubeconfig)
    rest.request("GET", "/api/v1/namespaces/default")
    assert rest.pool.idle() == 1
    first = _idle_port(rest)
    rest.request("GET", "/api/v1/namespaces/default")
    rest.request("POST", "/api/v1/namespaces/default/configmaps",
                 {"metadata": {"name": "kept"}})
    assert rest.pool.idle() == 1 and _idle_port(rest) == first
    rest.pool.close()


def test_a_connection_the_server_closed_is_not_reused(apiserver: RunningApiServer) -> None:
    rest = RestClient.from_kubeconfig(apiserver.kubeconfig)
    rest.request("GET", "/api/v1/namespaces/default")
    first = _idle_port(rest)
    _closed_by_server(rest)
    rest.request("POST", "/api/v1/namespaces/default/configmaps",
                 {"metadata": {"name": "after-close"}})  # not sent on the dead connection
    assert _idle_port(rest) != first
    rest.pool.close()


def test_only_replayable_requests_are_sent_again(apiserver: RunningApiServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The close arrives between the check and the request (the race the check leaves)."""
    rest = RestClient.from_kubeconfig(apiserver.kubeconfig)
    monkeypatch.setattr(connections, "_closed_by_peer", lambda _conn: False)
    rest.request("GET", "/api/v1/namespaces/default")
    _closed_by_server(rest)
    assert rest.request("GET", "/api/v1/namespaces/default")["metadata"]["name"] == "default"
    _closed_by_server(rest)
    with pytest.raises(connections.CLOSED_BY_SERVER):
        rest.request("POST", "/api/v1/namespaces/default/configmaps",
                     {"metadata": {"name": "not-replayed"}})
    rest.pool.close()
