"""Fixtures for CNI tests: throwaway `nl<id>-...` namespaces as a "node" and its "pods".

Every plugin runs inside the node namespace the test made (the invoker's `exec_netns`), so the
bridge, the veths, sysctls and iptables rules all live there and vanish with it; nothing touches
the host's root namespace. nodelab's plugins are thick: a "nodelab" node runs their daemon.
Deleting the node and pod namespaces in `finally` is the teardown.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nodelab.cni import CNIInvoker, NetworkConfigList, parse_conflist, plugin_dir
from nodelab.cni.server import start_in_netns
from nodelab.host.commands import run

REFERENCE_DIR = Path("/usr/lib/cni")
IS_ROOT = os.geteuid() == 0

privileged = [
    pytest.mark.privileged,
    pytest.mark.skipif(not IS_ROOT, reason="needs root: real network namespaces"),
    pytest.mark.skipif(shutil.which("nsenter") is None, reason="needs nsenter (util-linux)"),
]
needs_reference = pytest.mark.skipif(
    not (REFERENCE_DIR / "bridge").exists(),
    reason="reference plugins missing: apt-get install containernetworking-plugins",
)

FLAVOURS = {
    "nodelab": lambda: [plugin_dir()],
    "reference": lambda: [REFERENCE_DIR],
}


def netns_path(name: str) -> str:
    return f"/var/run/netns/{name}"


@dataclass
class Node:
    """A node namespace with an invoker that runs plugins inside it."""

    prefix: str
    name: str
    state: Path
    invoker: CNIInvoker
    _make_netns: Callable[[str], str]
    pods: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"{self.name}-br"

    def pod(self, suffix: str) -> str:
        name = self._make_netns(f"{self.name.rsplit('-', 1)[1][:3]}{suffix}")
        self.pods.append(name)
        return name

    def conflist(
        self,
        *,
        subnet: str = "10.250.7.0/24",
        version: str = "1.0.0",
        routes: tuple[str, ...] = ("10.96.0.0/16",),
        extra_plugins: list[dict[str, Any]] | None = None,
        **bridge: Any,
    ) -> NetworkConfigList:
        main = {
            "type": "bridge",
            "bridge": self.bridge,
            "isGateway": True,
            "ipam": {
                "type": "host-local",
                "dataDir": str(self.state / "networks"),
                "ranges": [[{"subnet": subnet}]],
                "routes": [{"dst": dst} for dst in routes],
            },
            **bridge,
        }
        return parse_conflist(
            {
                "cniVersion": version,
                "name": f"{self.prefix}net",
                "plugins": [main, *(extra_plugins or [])],
            }
        )

    def exec(self, netns: str, *argv: str, check: bool = True) -> str:
        return run(["ip", "netns", "exec", netns, *argv], check=check, timeout=30).stdout


@pytest.fixture
def make_netns() -> Iterator[Callable[[str], str]]:
    prefix = "nl" + secrets.token_hex(2)
    created: list[str] = []

    def make(suffix: str) -> str:
        name = f"{prefix}-{suffix}"
        run(["ip", "netns", "add", name])
        created.append(name)
        return name

    make.prefix = prefix  # type: ignore[attr-defined]
    try:
        yield make
    finally:
        for name in reversed(created):
            run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def make_node(
    make_netns: Callable[[str], str], tmp_path: Path
) -> Iterator[Callable[[str], Node]]:
    """A node namespace; a "nodelab" node also runs nodelab's CNI daemon (its plugins are
    thick), as podnet does on a lab node, stopped before the namespace goes."""
    daemons: list[subprocess.Popen[bytes]] = []

    def make(flavour: str) -> Node:
        prefix: str = make_netns.prefix  # type: ignore[attr-defined]
        name = make_netns(f"{flavour[:3]}n")
        run(["ip", "-n", name, "link", "set", "lo", "up"])
        if flavour == "nodelab":
            daemons.append(start_in_netns(netns_path(name)))
        state = tmp_path / flavour
        invoker = CNIInvoker(
            FLAVOURS[flavour](), state / "cache", exec_netns=Path(netns_path(name))
        )
        return Node(prefix, name, state, invoker, make_netns)

    try:
        yield make
    finally:
        for daemon in daemons:
            daemon.terminate()
            daemon.wait(timeout=30)
