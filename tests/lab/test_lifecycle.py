"""The lab lifecycle against the real kernel: up, down, idempotence, crashes, neighbours."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
from pathlib import Path

import pytest

from nodelab.host import netlink
from nodelab.host.commands import run
from nodelab.host.processes import lab_processes, send_signal
from nodelab.lab.addons.cluster_dns import answers_from
from nodelab.lab.lab import Lab, lab_status, take_down_lab
from nodelab.lab.ledger import Ledger
from nodelab.lab.residue import residue
from nodelab.lab.topology import preferred_subnet
from tests.conftest import LabFactory, needs_root, unique_lab_name

pytestmark = [pytest.mark.privileged, needs_root]


def lab_residue(lab: Lab) -> set[str]:
    prefix = lab.names.prefix + "-"
    return {r for r in residue() if prefix in r or f"nodelab/{lab.name}" in r
            or str(lab.paths.root) in r or r.endswith(f"(lab {lab.name})")}


def ping(namespace: str, address: object) -> bool:
    argv = ["ip", "netns", "exec", namespace, "ping", "-c1", "-W1", str(address)]
    return run(argv, check=False).returncode == 0


def test_up_builds_the_topology_and_down_removes_everything(make_lab: LabFactory) -> None:
    lab = make_lab(nodes=2)
    # cluster DNS answers through each node's kube-proxy as soon as up returns (up waits for
    # the rules, not only for the API's ready endpoint: a query in between was lost)
    assert [answers_from(n.netns) for n in lab.topology.nodes] == [True, True]
    status = lab.status()
    assert status.healthy, status.render()
    assert {n.netns for n in status.nodes} <= set(netlink.list_netns())
    assert lab.topology.bridge in netlink.link_names()
    node1, node2 = lab.topology.nodes
    # inside a node: its address, no default route, the service CIDR sinks into the svc bridge
    routes = run(["ip", "netns", "exec", node1.netns, "ip", "-j", "route"]).stdout
    destinations = {r["dst"]: r for r in json.loads(routes)}
    assert "default" not in destinations
    assert destinations["10.96.0.0/16"]["dev"] == lab.topology.service_bridge
    assert ping(node1.netns, lab.topology.gateway)
    assert ping(node1.netns, node2.ip)
    assert not ping(node1.netns, "10.96.0.1")  # dropped in the port-less bridge
    lab.down()
    assert lab_residue(lab) == set()
    assert not lab.paths.root.exists()
    lab.down()  # a second down is fine


def test_second_up_is_a_no_op(make_lab: LabFactory) -> None:
    lab = make_lab()
    before = lab.status()
    ledger = Ledger(lab.paths.ledger).entries()
    again = Lab.up(lab.name, 1, progress=lambda _m: None)
    after = again.status()
    assert [d.pid for d in after.daemons] == [d.pid for d in before.daemons]
    assert Ledger(lab.paths.ledger).entries() == ledger
    assert after.subnet == before.subnet


def test_up_with_another_node_count_says_what_to_do(make_lab: LabFactory) -> None:
    lab = make_lab()
    with pytest.raises(Exception, match="take it down first"):
        Lab.up(lab.name, 2, progress=lambda _m: None)


def test_two_labs_side_by_side(make_lab: LabFactory) -> None:
    first, second = make_lab(), make_lab()
    assert first.topology.subnet != second.topology.subnet
    assert first.status().healthy and second.status().healthy
    assert ping(first.topology.nodes[0].netns, first.topology.gateway)
    assert ping(second.topology.nodes[0].netns, second.topology.gateway)
    first.down()
    assert second.status().healthy
    assert ping(second.topology.nodes[0].netns, second.topology.gateway)


def test_down_after_kill_9_of_every_lab_process(make_lab: LabFactory) -> None:
    lab = make_lab(nodes=2)
    processes = list(lab_processes(lab.name))
    assert processes, "the lab should have running processes (the registry at least)"
    # What a daemon leaves in its TMPDIR (the official Kubernetes client's copies of a
    # kubeconfig's certificates and keys, removed only at a clean exit) is inside the lab. No lab
    # daemon writes there today (nodelab's small REST client keeps them in memory), so a file
    # stands in for what one killed with SIGKILL would leave.
    environs = []  # of the processes still there (a short-lived child may have ended)
    for process in processes:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            environs.append((Path("/proc") / str(process.pid) / "environ").read_bytes())
    assert environs and f"TMPDIR={lab.paths.tmp}".encode() in environs[0].split(b"\0")
    (lab.paths.tmp / "left-by-a-killed-daemon").write_text("a certificate copy\n")
    # A short-lived child (an iptables-restore, a probe's exec) may end between the listing and
    # the kill: send_signal checks the start time, so such a PID, or a stranger that reused it, is
    # left alone.
    for process in processes:
        send_signal(process, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(process.pid, 0)
    assert not lab_status(lab.name).healthy
    take_down_lab(lab.name)
    assert lab_residue(lab) == set()
    assert not lab.paths.tmp.exists()


def test_a_default_subnet_that_overlaps_a_host_route_moves(make_lab: LabFactory) -> None:
    name = unique_lab_name()
    taken = preferred_subnet(name)
    blocker = f"nl{name}-x"[:15]
    netlink.ensure_bridge(blocker)
    try:
        netlink.ensure_address(blocker, ipaddress.IPv4Interface(f"{taken.network_address + 1}/24"))
        lab = make_lab(name=name)
        assert lab.topology.subnet != taken
        assert not lab.topology.subnet.overlaps(taken)
        assert lab.status().healthy
    finally:
        netlink.delete_link(blocker)
