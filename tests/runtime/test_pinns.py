"""pinns.pin on the real kernel: a pod's namespaces made by a thread of the calling process and
pinned to files (what `ip netns add`, `ip link set lo up` and `unshare --ipc --uts hostname`
did), and a failed call leaves nothing behind."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.runtime import namespaces, pinns

from .privileges import need_root

pytestmark = pytest.mark.privileged


@pytest.fixture
def pins(tmp_path: Path) -> Iterator[dict[str, str]]:
    need_root()
    name = f"nltpin-{secrets.token_hex(4)}"
    made = namespaces.pin_paths(("net", "uts", "ipc"), tmp_path / "ns", name)
    yield made
    namespaces.delete_netns(name)
    namespaces.unpin([made["uts"], made["ipc"]])


def ns_inode(path: str) -> int:
    return os.stat(path).st_ino


def test_a_pods_namespaces_pinned_by_a_thread(pins: dict[str, str]) -> None:
    namespaces.pin_namespaces(pins, "pod-a")
    for kind, path in pins.items():
        assert namespaces.is_namespace(path)
        assert ns_inode(path) != ns_inode(f"/proc/self/ns/{kind}")  # new, not the caller's
    netns = Path(pins["net"]).name
    assert netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                   check=True).stdout
    loopback = subprocess.run(["ip", "-n", netns, "-o", "link", "show", "lo"],
                              capture_output=True, text=True, check=True).stdout
    assert ",UP" in loopback.split(">")[0]
    hostname = subprocess.run(["nsenter", f"--uts={pins['uts']}", "hostname"],
                              capture_output=True, text=True, check=True).stdout
    assert hostname.strip() == "pod-a"
    assert socket.gethostname() != "pod-a"  # the caller's hostname is untouched


def test_a_failed_pin_leaves_nothing(pins: dict[str, str]) -> None:
    Path(pins["ipc"]).parent.mkdir(parents=True)
    Path(pins["ipc"]).touch()  # taken: the call fails after making the net and uts files
    with pytest.raises(pinns.PinError, match="cannot create the namespace file .*ipc: File "
                                             "exists"):
        namespaces.pin_namespaces(pins, "pod-b")
    assert not os.path.exists(pins["net"]) and not os.path.exists(pins["uts"])
    assert Path(pins["net"]).name not in Path("/proc/mounts").read_text()


def test_only_net_ipc_and_uts_are_pinned(tmp_path: Path) -> None:
    with pytest.raises(pinns.PinError, match="cannot pin pid namespaces: only net, ipc and uts"):
        pinns.pin({"pid": str(tmp_path / "pid")})
