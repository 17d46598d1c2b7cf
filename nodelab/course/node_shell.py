"""Run a command inside a lab node's network namespace (`ip netns exec <netns> ...`).

The node's daemons share the host's mounts and cgroups and have a network namespace of their
own, so this is what "a shell on the node" means in a lab. `in_node` takes the node (from
`lab.node("node1")`, whose `exec` it uses) or its namespace's name.
"""

from __future__ import annotations

import subprocess

from nodelab.lab.scripting.lab_node import LabNode, run_in_netns


def in_node(node: LabNode | str, *argv: str,
            timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run argv on the node; never raises on a non-zero exit (the caller looks)."""
    if isinstance(node, LabNode):
        return node.exec(argv, timeout=timeout)
    return run_in_netns(node, argv, timeout=timeout)
