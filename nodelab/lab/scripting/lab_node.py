"""`lab.node("node1")`: one node of a lab, for a script: run a command in its network namespace,
talk CRI to its runtime, read its daemons' logs.

A lab node is a network namespace (`<prefix>-<node>`) in which its daemons run (runtime,
kubelet, podnet, kube-proxy); they share the host's mounts and cgroups, so "a shell on the
node" is `ip netns exec <netns> ...`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.kubelet.cri import CRIClient
from nodelab.lab.paths import LabPaths
from nodelab.lab.topology import NodePlan


def run_in_netns(netns: str, argv: Sequence[str], *, input: str | None = None,
                 timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """`ip netns exec <netns> argv`, its output captured as text; never raises on a non-zero
    exit (the caller looks at `returncode`)."""
    return subprocess.run(["ip", "netns", "exec", netns, *argv], input=input,
                          capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class LabNode:
    """One node of a lab that is up (get it with `lab.node(name)`)."""

    plan: NodePlan
    paths: LabPaths

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def netns(self) -> str:
        return self.plan.netns

    @property
    def ip(self) -> str:
        return str(self.plan.ip)

    def exec(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 30.0,
             check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run argv in the node's network namespace; with `check`, a non-zero exit raises a
        NodelabError with the command's stderr (else the caller looks at `returncode`)."""
        if not argv:
            raise NodelabError(f"exec on {self.name}: give the command to run, e.g. ['ip', "
                               "'route']")
        result = run_in_netns(self.netns, argv, input=input, timeout=timeout)
        if check and result.returncode != 0:
            raise NodelabError(f"{' '.join(argv)} on {self.name} exited with "
                               f"{result.returncode}: {result.stderr.strip()}")
        return result

    def cri(self, timeout: float = 10.0) -> CRIClient:
        """A CRI client on the node's runtime socket (nodelab's runtime or containerd);
        `close()` it when done."""
        socket = self.paths.cri_socket(self.name)
        if not socket.exists():
            raise NodelabError(f"{self.name} has no CRI socket at {socket}: is the lab up "
                               "(`nodelab status`)?")
        return CRIClient(f"unix://{socket}", timeout=timeout)

    def daemons(self) -> list[str]:
        """The daemons of this node that write logs (runtime, kubelet, podnet, proxy, ...)."""
        prefix = f"{self.name}-"
        if not self.paths.logs.is_dir():
            return []
        return sorted(p.stem[len(prefix):] for p in self.paths.logs.glob(f"{prefix}*.log"))

    def logs(self, daemon: str, tail: int | None = None) -> str:
        """The log of one of the node's daemons (`tail`: only its last lines)."""
        known = self.daemons()
        if daemon not in known:
            raise NodelabError(f"{self.name} has no daemon {daemon!r}: choose one of "
                               f"{', '.join(known) or '(none: is the lab up?)'}")
        text = self.paths.log(f"{self.name}/{daemon}").read_text(errors="replace")
        if tail is not None:
            text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
        return text
