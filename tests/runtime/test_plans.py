"""Small pure pieces: sandbox files, cgroup paths, platform choice, WebSocket frames, statuses."""

from __future__ import annotations

import json
import socket

import pytest
from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import BytesMessage

from nodelab.cri import api_pb2 as cri
from nodelab.errors import NodelabError
from nodelab.runtime.cgroups import container_cgroup_path, sandbox_cgroup_path
from nodelab.runtime.images.platforms import Platform, choose_manifest
from nodelab.runtime.namespaces import netns_name, render_hosts, render_resolv_conf
from nodelab.runtime.streaming.server import status_message
from nodelab.runtime.streaming.websocket import Connection, accept_key, choose_protocol

pytestmark = pytest.mark.unit


def test_hosts_file_names_the_pod() -> None:
    hosts = render_hosts("web-0", "10.244.1.5")
    assert "127.0.0.1\tlocalhost" in hosts
    assert hosts.endswith("10.244.1.5\tweb-0\n")


def test_resolv_conf_from_dns_config_or_the_node() -> None:
    dns = cri.DNSConfig(servers=["10.96.0.10"], searches=["ns.svc.cluster.local"],
                        options=["ndots:5"])
    assert render_resolv_conf(dns, "node") == (
        "search ns.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
    assert render_resolv_conf(cri.DNSConfig(), "nameserver 1.1.1.1\n") == "nameserver 1.1.1.1\n"


def test_names_and_cgroup_paths_stay_under_the_prefixes() -> None:
    assert netns_name("nla", "0123456789abcdef") == "nla-0123456789ab"
    assert container_cgroup_path("nodelab/a/node1", "/kubepods/burstable/podX", "c1") == \
        "/nodelab/a/node1/kubepods/burstable/podX/c1"
    assert sandbox_cgroup_path("nodelab/a/node1", "", "0123456789abcdef") == \
        "/nodelab/a/node1/sandbox-0123456789ab"


def test_platform_choice_prefers_the_exact_variant() -> None:
    entries = [
        {"digest": "a", "platform": {"os": "linux", "architecture": "arm64"}},
        {"digest": "b", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "c", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "d", "platform": {"os": "unknown", "architecture": "unknown"}},
    ]
    assert choose_manifest(entries, Platform("linux", "arm64", "v8"))["digest"] == "b"
    assert choose_manifest(entries, Platform("linux", "amd64"))["digest"] == "c"
    with pytest.raises(NodelabError, match="linux/riscv64"):
        choose_manifest(entries, Platform("linux", "riscv64"))


def test_websocket_accept_key_and_protocol_choice() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455
    assert choose_protocol("v5.channel.k8s.io, v4.channel.k8s.io",
                           ("v4.channel.k8s.io",)) == "v4.channel.k8s.io"
    assert choose_protocol("SPDY/3.1", ("v4.channel.k8s.io",)) is None


@pytest.mark.parametrize("size", [5, 200, 70000])
def test_masked_client_frames_are_read_whole(size: int) -> None:
    left, right = socket.socketpair()
    with left, right:
        payload = bytes(range(256)) * (size // 256 + 1)
        payload = payload[:size]
        half = size // 2
        client = WSConnection(ConnectionType.CLIENT)  # a real client's masked frames
        left.sendall(client.send(BytesMessage(data=payload[:half])))
        # a fragmented message: first frame without FIN, then a continuation with FIN
        left.sendall(client.send(BytesMessage(data=payload[:half], message_finished=False))
                     + client.send(BytesMessage(data=payload[half:])))
        server = Connection(right)
        assert server.receive() == payload[:half]
        assert server.receive() == payload


def test_exit_status_messages() -> None:
    assert json.loads(status_message(0)[1:])["status"] == "Success"
    failure = json.loads(status_message(3)[1:])
    assert failure["reason"] == "NonZeroExitCode"
    assert failure["details"]["causes"][0] == {"reason": "ExitCode", "message": "3"}
