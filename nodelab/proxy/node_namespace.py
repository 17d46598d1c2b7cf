"""Where the proxy's commands run: the node's network namespace, or the current one.

The proxy process of a node normally runs *inside* that node's network namespace (the lab
starts it with `ip netns exec`), so `NodeNamespace(None)` runs tools as they are. Tests and
notebooks drive a node from outside: `NodeNamespace("nla-node1")` prefixes every command with
`ip netns exec nla-node1`, so iptables, nft and conntrack see only that node's rules.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.host.commands import run

APPLY_TIMEOUT = 1800.0
"""How long a rule load may take. Big rulesets load slowly with iptables' nf_tables backend
(minutes at 5,000 Services x 10 endpoints); upstream never cuts a restore short either."""


@dataclass(frozen=True)
class NodeNamespace:
    """A network namespace by name (`ip netns` kind); None is the current namespace."""

    name: str | None = None

    def argv(self, argv: Sequence[str]) -> list[str]:
        if self.name is None:
            return list(argv)
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        return run(self.argv(argv), input=input, check=check, timeout=timeout)

    def set_sysctl(self, key: str, value: str) -> None:
        """Set a per-namespace sysctl such as `net.ipv4.conf.all.route_localnet`."""
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def __str__(self) -> str:
        return self.name or "the current network namespace"
