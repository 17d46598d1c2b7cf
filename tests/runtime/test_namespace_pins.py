"""Whether a sandbox's pinned namespace is still there: after a host reboot the pins' bind
mounts are gone and the empty files they sat on are left (a hostNetwork sandbox pins its IPC
namespace, so it must turn NOTREADY too, not run containers into dead pins); which namespaces a
sandbox makes, and where it pins them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodelab.runtime.namespaces import is_namespace, pin_paths, sandbox_namespaces
from nodelab.runtime.records import SandboxRecord
from nodelab.runtime.sandboxes import pinned_paths

pytestmark = pytest.mark.unit


def test_is_namespace(tmp_path: Path) -> None:
    left_behind = tmp_path / "ipc"
    left_behind.touch()  # what an unmounted pin leaves
    assert is_namespace(f"/proc/{os.getpid()}/ns/ipc")
    assert not is_namespace(str(left_behind))
    assert not is_namespace(str(tmp_path / "gone"))


def test_every_pin_of_a_sandbox_is_checked() -> None:
    host_network = SandboxRecord(id="s", name="n", config="", created_at=0,
                                 ipc_path="/x/ns/ipc")
    assert pinned_paths(host_network) == ["/x/ns/ipc"]
    pod = SandboxRecord(id="s", name="n", config="", created_at=0, netns_path="/run/netns/p",
                        ipc_path="/x/ns/ipc", uts_path="/x/ns/uts", pid_path="/proc/9/ns/pid")
    assert len(pinned_paths(pod)) == 4


@pytest.mark.parametrize(("host_network", "host_ipc", "kinds"), [
    (False, False, ("net", "uts", "ipc")),
    (True, False, ("ipc",)),  # the node's network and hostname
    (False, True, ("net", "uts")),  # the node's IPC namespace, the pod's own hostname
    (True, True, ()),
])
def test_which_namespaces_a_sandbox_makes(host_network: bool, host_ipc: bool,
                                          kinds: tuple[str, ...]) -> None:
    assert sandbox_namespaces(host_network, host_ipc) == kinds


def test_where_each_namespace_is_pinned() -> None:
    assert pin_paths(("net", "uts", "ipc"), Path("/s/ns"), "nlx-node1-0123456789ab") == {
        "net": "/run/netns/nlx-node1-0123456789ab", "uts": "/s/ns/uts", "ipc": "/s/ns/ipc"}
