"""A pod's network counters for ListPodSandboxStats: read from /proc/<pid>/net/dev of one of
its container processes, the same figures `ip -s link` shows in the pod's netns, without
starting a process per pod and scrape."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest

from nodelab.host.commands import run
from nodelab.runtime import namespaces
from nodelab.runtime.namespaces import interface_stats, parse_net_dev
from tests.runtime.privileges import need_root

NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:  906518     702    3    0    0     0          0         0    42313     512    7    0    0     0       0          0
"""  # noqa: E501


@pytest.mark.unit
@pytest.mark.parametrize(("ifname", "counters"), [
    ("eth0", (906518, 3, 42313, 7)),
    ("lo", (140, 0, 140, 0)),
    ("eth1", None),
])
def test_net_dev_counters(ifname: str, counters: tuple[int, int, int, int] | None) -> None:
    assert parse_net_dev(NET_DEV, ifname) == counters


@pytest.fixture
def pod_netns() -> Iterator[tuple[str, int]]:
    """A netns with an `eth0` that has sent traffic, and a process in it (a pod's container).
    The counters then stand still, as the test compares reads taken at different times: no
    IPv6 (router solicitations, MLD, DAD) in the netns, and the peer down after the ping (no
    ARP retries)."""
    need_root()
    name = "nl" + secrets.token_hex(2) + "-stats"
    run(["ip", "netns", "add", name])
    member = None
    try:
        for key in ("all", "default"):
            run(["ip", "netns", "exec", name, "sysctl", "-qw",
                 f"net.ipv6.conf.{key}.disable_ipv6=1"])
        for argv in (["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"],
                     ["addr", "add", "10.250.0.2/24", "dev", "eth0"],
                     ["link", "set", "peer0", "up"], ["link", "set", "eth0", "up"]):
            run(["ip", "-n", name, *argv])
        run(["ip", "netns", "exec", name, "ping", "-c", "2", "-i", "0.2", "-W", "1",
             "10.250.0.9"], check=False)  # nobody answers; eth0 counts what it sent
        run(["ip", "-n", name, "link", "set", "peer0", "down"])  # eth0 loses its carrier
        member = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "300"])
        pinned = os.stat(f"/run/netns/{name}").st_ino
        deadline = time.monotonic() + 30
        while os.stat(f"/proc/{member.pid}/ns/net").st_ino != pinned:  # ip has not setns'd yet
            assert time.monotonic() < deadline, "the member process never entered the netns"
            time.sleep(0.01)
        yield name, member.pid
    finally:
        if member is not None:
            member.kill()
            member.wait()
        run(["ip", "netns", "del", name], check=False)


@pytest.mark.privileged
def test_counters_come_from_a_member_process_as_ip_shows_them(
        pod_netns: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    name, member = pod_netns
    shown = interface_stats(name)  # `ip -s link` in the netns
    assert shown is not None and shown[2] > 0
    with monkeypatch.context() as patched:
        def no_process(argv: list[str], **_: object) -> None:
            raise AssertionError(f"started {argv} although a member process is known")

        patched.setattr(namespaces, "run", no_process)
        read = interface_stats(name, "eth0", f"/run/netns/{name}", [member])
    assert read == shown
    # a process in another netns is no member: the counters still come from the netns itself
    assert interface_stats(name, "eth0", f"/run/netns/{name}", [1]) == shown
