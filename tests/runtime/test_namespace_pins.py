"""Whether a sandbox's pinned namespace is still there: after a host reboot the pins' bind
mounts are gone and the empty files they sat on are left (a hostNetwork sandbox pins its IPC
and UTS namespaces, so it must turn NOTREADY too, not run containers into dead pins)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nodelab.runtime.namespaces import is_namespace
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
                                 ipc_path="/x/ns/ipc", uts_path="/x/ns/uts")
    assert pinned_paths(host_network) == ["/x/ns/ipc", "/x/ns/uts"]
    pod = SandboxRecord(id="s", name="n", config="", created_at=0, netns_path="/run/netns/p",
                        ipc_path="/x/ns/ipc", uts_path="/x/ns/uts", pid_path="/proc/9/ns/pid")
    assert len(pinned_paths(pod)) == 4
