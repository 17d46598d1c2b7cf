"""Run a command inside a lab node's network namespace (`ip netns exec <netns> ...`).

The node's daemons share the host's mounts and cgroups and have a network namespace of their
own, so this is what "a shell on the node" means in a lab.
"""

from __future__ import annotations

import subprocess


def in_node(netns: str, *argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run argv in the node's netns; never raises on a non-zero exit (the caller looks)."""
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True,
                          timeout=timeout)
