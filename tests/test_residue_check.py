"""The suite's residue check leaves out what names another session's state base or lab (another
session: a live claim), the sockets of shims that still run, and the directories that hold
those; a runtime claim owns only the namespaces named with its prefix."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.host.processes import ProcessId
from nodelab.lab.claims import Claim, owned_netns
from nodelab.lab.containerd.host_files import shim_argv_socket, shim_socket
from nodelab.lab.residue import _entries
from tests.conftest import foreign, left_by_session, others_claims

pytestmark = pytest.mark.unit

BASES = ["/tmp/nlt-other"]
LABS = ["t1e863", "demo"]
RUNNING_SHIM = Path("/run/containerd/s/8d5e")


@pytest.mark.parametrize("item, theirs", [
    ("netns nlt1e863-node1-2f654aec11cc", True),
    ("link nldemo-br", True),
    ("cgroup /sys/fs/cgroup/cpu/nodelab/t1e863", True),
    ("mount /tmp/nlt-other/t1e863/nodes/node1/runtime/containers/x/rootfs", True),
    ("process 22803 /usr/bin/conmon --api-version 1 -c 5572fc (lab t1e863)", True),
    ("iptables nat NLT1E863-POSTROUTING", True),
    ("path /run/containerd/s/8d5e", True),  # a shim runs on it
    # this session's own, or nobody's: reported
    ("netns nlt0b65e-node1", False),
    ("process 17644 /usr/bin/conmon --api-version 1 -c f26901 (lab t0b65e)", False),
    ("mount /tmp/nlt-others-too/x", False),
    ("netns nl9d45-bnode", False),
    ("link nldemox-br", False),
    ("path /run/containerd/s/0b1c", False),  # no shim runs on it: left behind
])
def test_foreign(item: str, theirs: bool) -> None:
    assert foreign(item, BASES, LABS, {RUNNING_SHIM}) is theirs


@pytest.mark.parametrize("item", [
    "cgroup /sys/fs/cgroup/cpu/nodelab", "path /run/containerd/s", "path /run/containerd/runc"])
def test_an_empty_shared_directory_is_anothers_only_while_another_session_runs(item: str) -> None:
    """Run 1 of session 9 (helpers' test sessions beside it) ended with the hierarchies' bare
    `nodelab` cgroups: another session was between making them and its lab's own cgroup."""
    assert foreign(item, BASES, LABS)
    assert not foreign(item, [], LABS)
    assert not foreign(item + "/t0b65e", BASES, LABS)


CPU = "cgroup /sys/fs/cgroup/cpu/nodelab"
SOCKETS = "path /run/containerd/s"


@pytest.mark.parametrize("bases, before, now, left", [
    # another lab came up meanwhile: its cgroup's parent, and the sockets' dir, are its
    (BASES, set(), {CPU, f"{CPU}/t1e863", SOCKETS, f"{SOCKETS}/8d5e"}, []),
    # this session's cgroup next to another's: only this session's is reported
    (BASES, set(), {CPU, f"{CPU}/t1e863", f"{CPU}/t0b65e"}, [f"{CPU}/t0b65e"]),
    # no other session: nobody's cgroups under it, or a socket no shim listens on, is all left
    ([], set(), {CPU}, [CPU]),
    ([], set(), {SOCKETS, f"{SOCKETS}/0b1c"}, [SOCKETS, f"{SOCKETS}/0b1c"]),
    # another session runs: the shared directory may be its, the socket in it is still reported
    (BASES, set(), {SOCKETS, f"{SOCKETS}/0b1c"}, [f"{SOCKETS}/0b1c"]),
    # there before the session started
    (BASES, {CPU, f"{CPU}/t0b65e"}, {CPU, f"{CPU}/t0b65e"}, []),
])
def test_a_directory_that_holds_anothers_entries_is_not_left_by_the_session(
        bases: list[str], before: set[str], now: set[str], left: list[str]) -> None:
    assert left_by_session(now, before, lambda r: foreign(r, bases, LABS, {RUNNING_SHIM})) \
        == left


def test_a_shims_socket_is_named_from_its_command_line() -> None:
    """As upstream's SocketAddress: sha256 of the (cleaned) join of the shim's `-address`,
    `-namespace` and `-id`."""
    socket = shim_socket("/run/x/containerd.sock", "k8s.io", "abc")
    assert socket.parent == Path("/run/containerd/s") and len(socket.name) == 64
    assert shim_socket("/run/x//containerd.sock/", "k8s.io", "abc") == socket
    argv = ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "abc",
            "-address", "/run/x/containerd.sock"]
    assert shim_argv_socket(argv) == socket
    assert shim_argv_socket(["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io"]) is None
    assert shim_argv_socket(["/bin/sleep", "-namespace", "k8s.io", "-id", "abc", "-address",
                             "/run/x/containerd.sock"]) is None


def test_a_shared_directory_removed_while_the_scan_reads_it_has_no_entries(
        tmp_path: Path) -> None:
    """Another lab's `down` removes /run/containerd/s or a hierarchy's `nodelab` cgroup when
    it leaves them empty, possibly between the scan's is_dir() and its listing."""
    shared = tmp_path / "s"
    shared.mkdir()
    (shared / "socket").touch()
    assert _entries(shared) == [shared / "socket"]
    (shared / "socket").unlink()
    shared.rmdir()
    assert _entries(shared) == []


ME, OTHER, GONE = ProcessId(100, 5), ProcessId(200, 7), ProcessId(300, 9)
RUNNING = {ME, OTHER}


def labs_claim(root: str, owner: ProcessId) -> Claim:
    return Claim("labs", Path(root), owner)


def runtime_claim(root: str, owner: ProcessId, prefix: str) -> Claim:
    return Claim("runtime", Path(root), owner, prefix)


@pytest.mark.parametrize("held, others", [
    # another session's base, claimed by a process that runs: another session
    ([labs_claim("/tmp/nlt-me", ME), labs_claim("/tmp/nlt-other", OTHER)], ["/tmp/nlt-other"]),
    # this session's own claims (its base, a runtime it runs) are not another's
    ([labs_claim("/tmp/nlt-me", ME), runtime_claim("/tmp/pt/x", ME, "nlt1a2b")], []),
    # the owner is dead (a killed run, not reaped yet): nobody's
    ([labs_claim("/tmp/nlt-killed", GONE)], []),
    # the PID runs, but another process took it since (another start time): nobody's
    ([labs_claim("/tmp/nlt-reused", ProcessId(200, 8))], []),
    # another session's test runtime
    ([runtime_claim("/tmp/pt/y", OTHER, "nlt9f9f")], ["/tmp/pt/y"]),
    # no claim at all (an empty /tmp/nlt-* base a killed run left): no other session
    ([], []),
])
def test_another_session_is_a_live_claim(held: list[Claim], others: list[str]) -> None:
    """Not every /tmp/nlt-* directory: one left empty by a killed run made every later
    session lenient."""
    found = others_claims(held, ME.pid, lambda owner: owner in RUNNING)
    assert [str(c.root) for c in found] == others


@pytest.mark.parametrize("item, theirs", [
    ("netns nlt9f9f-node", True),
    ("cgroup /sys/fs/cgroup/cpu/nodelab/nlt9f9f", True),
    ("cgroup /sys/fs/cgroup/cpu/nodelab/nlt9f9f/pods/x", True),
    ("mount /tmp/pt/y/state/runtime/rootfs", True),
    # this session's runtime, and a lab whose name merely starts with the same letters
    ("netns nlt1a2b-node", False),
    ("cgroup /sys/fs/cgroup/cpu/nodelab/nlt9f9f0", False),
])
def test_another_sessions_runtime_is_foreign(item: str, theirs: bool) -> None:
    assert foreign(item, ["/tmp/pt/y"], [], (), ["nlt9f9f"]) is theirs


@pytest.mark.parametrize("names, prefix, owned", [
    (["nlt1a2b-2f654aec11cc", "nlt1a2b3-node1", "nlt1a2b3-node1-2f654aec11cc"], "nlt1a2b",
     ["nlt1a2b-2f654aec11cc"]),  # a lab named t1a2b3 is another session's, not the runtime's
    (["nlb0c1d-pod7", "nlb0c1dx-node1"], "nlb0c1d", ["nlb0c1d-pod7"]),
    (["nlt1a2b-x"], "", []),  # a claim without a prefix owns no namespace
])
def test_a_runtime_claim_owns_only_its_prefixed_namespaces(names: list[str], prefix: str,
                                                           owned: list[str]) -> None:
    assert owned_netns(names, prefix) == owned
