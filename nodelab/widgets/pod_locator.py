"""Find a running pod's Linux pieces from its API object: network namespace, processes, cgroups.

The views of a sandbox and of cgroups work on Linux names (a PID, a cgroup path); a learner
names a pod. These functions bridge the two the way one would by hand, without asking the
runtime, so they work for any runtime that follows the usual layout:

- the pod's **network namespace** is the named namespace wired by veth into its node's
  namespace whose `eth0` holds the pod's IP (`status.podIP`);
- its **processes** are those living in that namespace; the oldest is taken as the sandbox
  process (the pause process when the runtime runs one, else the first container's);
- its **cgroups** are found by searching the lab's cgroup subtree for the directory
  `pod<uid>` (wherever the QoS level puts it: `kubepods/pod<uid>` for Guaranteed,
  `kubepods/burstable/pod<uid>` otherwise) and, below it, a directory per container named
  by the container ID from `status.containerStatuses[].containerID`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nodelab.host.cgroup_stats import v1_mount
from nodelab.host.cgroups import CGROUP_ROOT, cgroup_version
from nodelab.host.netlink_snapshot import discover_linked, read_snapshot
from nodelab.kube.objects import Object
from nodelab.widgets.namespace_source import namespace_inodes


def pod_netns(node_netns: str, pod_ip: str) -> str | None:
    """The named namespace wired into `node_netns` whose eth0 has `pod_ip`."""
    linked = discover_linked(node_netns)
    for ns in read_snapshot(linked).namespaces if linked else ():
        for link in ns.links:
            if any(a.split("/")[0] == pod_ip for a in link.addresses):
                return ns.name
    return None


def netns_processes(netns: str) -> list[int]:
    """PIDs of the processes in named namespace `netns`, oldest (lowest start time) first."""
    try:
        inode = os.stat(f"/var/run/netns/{netns}").st_ino
    except OSError:
        return []
    found: list[tuple[int, int]] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and namespace_inodes(entry).get("net") == inode:
            try:
                started = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[19])
            except (OSError, IndexError, ValueError):
                continue
            found.append((started, int(entry)))
    return [pid for _started, pid in sorted(found)]


def _search_root(lab: str) -> Path | None:
    base = CGROUP_ROOT if cgroup_version() == 2 else v1_mount("memory")
    return base / "nodelab" / lab if base is not None else None


def pod_cgroups(lab: str, pod: Object) -> dict[str, str]:
    """{container name: cgroup path relative to the hierarchy root} of a running pod."""
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    root = _search_root(lab)
    if not uid or root is None or not root.is_dir():
        return {}
    pod_dir = next((Path(d) / f"pod{uid}" for d, subdirs, _files in os.walk(root)
                    if f"pod{uid}" in subdirs), None)
    if pod_dir is None:
        return {}
    base = root.parents[1]
    groups = {"pod": "/" + str(pod_dir.relative_to(base))}
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        container_id = str(status.get("containerID", "")).split("://")[-1]
        if container_id and (pod_dir / container_id).is_dir():
            groups[str(status.get("name"))] = "/" + str((pod_dir / container_id).relative_to(base))
    return groups


def find_pod(objects: Any, name: str, namespace: str) -> Object | None:
    return next((p for p in objects.list("Pod", namespace)
                 if (p.get("metadata") or {}).get("name") == name), None)
