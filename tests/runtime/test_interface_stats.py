"""A pod's network counters for ListPodSandboxStats: read from /proc/<pid>/net/dev of one of
its container processes, or by a thread that joins the pod's netns, the same figures `ip -s link`
shows there, without starting a process per pod and scrape."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.host.commands import run
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


def ip_shows(name: str) -> tuple[int, int, int, int]:
    stats = json.loads(run(["ip", "-n", name, "-j", "-s", "link", "show", "eth0"]).stdout)[0][
        "stats64"]
    return (int(stats["rx"]["bytes"]), int(stats["rx"]["errors"]),
            int(stats["tx"]["bytes"]), int(stats["tx"]["errors"]))


@pytest.mark.privileged
def test_counters_as_ip_shows_them_without_a_process(
        pod_netns: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    name, member = pod_netns
    shown = ip_shows(name)
    assert shown[2] > 0
    with monkeypatch.context() as patched:
        def no_process(*args: object, **kwargs: object) -> None:
            raise AssertionError(f"started a process: {args}")

        patched.setattr(subprocess, "Popen", no_process)
        from_member = interface_stats(f"/run/netns/{name}", "eth0", [member])
        # a process in another netns is no member: the counters come from the netns itself
        from_netns = interface_stats(f"/run/netns/{name}", "eth0", [1])
        without_members = interface_stats(f"/run/netns/{name}")
    assert from_member == from_netns == without_members == shown
    assert interface_stats(f"/run/netns/{name}", "eth1") is None


@pytest.mark.privileged
def test_no_counters_of_a_pin_that_is_gone(tmp_path: Path) -> None:
    need_root()
    left_behind = tmp_path / "net"
    left_behind.touch()  # an unmounted pin (a host reboot)
    assert interface_stats(str(left_behind)) is None
    assert interface_stats(str(tmp_path / "gone")) is None
