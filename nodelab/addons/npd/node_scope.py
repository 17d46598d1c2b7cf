"""Which node an OOM kill concerns, when several nodes share one kernel (a lab's nodes do).

On a real node the kernel log is the node's own: every OOM kill in it happened there, and
upstream's rule (`Killed process \\d+ (.+) total-vm:...`) reports each one. Every node of every
lab on a machine reads the same kernel log, as kind nodes do, where upstream's detector reports
each OOM kill on every node. Here the kernel says more: right before `Killed process <pid>`
it logs `oom-kill:constraint=...,oom_memcg=...,task_memcg=<cgroup>,task=<comm>,pid=<pid>,...`,
and a lab node's pods live under the node's cgroup (`/nodelab/<lab>/<node>`, the kubelet's
cgroupRoot). Given that root (`--node-cgroup`), `belongs_to_node` keeps an OOM kill whose
victim's memory cgroup is under it and drops the others; when the `oom-kill:` line of that pid
is not in the buffer (an older kernel, or other messages pushed it out), it cannot tell and
keeps it, as upstream would. Other problems (hung tasks, read-only remounts, oopses) name no
cgroup: each node reports them, as they are the machine's kernel's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_KILLED = re.compile(r"Killed process (\d+) ", re.ASCII)
_OOM_KILL = re.compile(r"oom-kill:.*[,:]task_memcg=(?P<cgroup>[^,]*),task=.*,pid=(?P<pid>\d+)",
                       re.ASCII)


def victim_cgroup(pid: str, lines: Sequence[str]) -> str | None:
    """The memory cgroup the kernel's latest `oom-kill:` line gives for `pid`, if any."""
    for line in reversed(lines):
        found = _OOM_KILL.search(line)
        if found and found.group("pid") == pid:
            return found.group("cgroup")
    return None


def belongs_to_node(node_cgroup: str, matched: Sequence[str], lines: Sequence[str]) -> bool:
    """False only for an OOM kill whose victim the kernel places outside `node_cgroup`."""
    killed = _KILLED.search(matched[-1]) if matched else None
    if killed is None or not node_cgroup:
        return True
    cgroup = victim_cgroup(killed.group(1), lines)
    if cgroup is None:
        return True
    root = "/" + node_cgroup.strip("/")
    return cgroup == root or cgroup.startswith(root + "/")
