"""Taking a lab down: undo the ledger newest first, then sweep by name for anything missed.

Order matters: the lab supervisor first (so no daemon is restarted), then processes (so
nothing recreates what is being removed, and cgroups empty),
then mounts under the state dir, then iptables chains and nft tables, then cgroups, then
network namespaces (which takes their veths, bridges and rules with them) and links, then the
state dir itself, then what a containerd lab left outside it (its shims' sockets, read from
the state before the shims end, and /run/containerd/s if nodelab made it and it is empty:
containerd_host.py). Every step tolerates what is already gone, so `down` is safe to run twice and
after `kill -9` of every lab process. Nothing without the lab's prefix is touched.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

from nodelab.host import cgroups, mounts, netlink
from nodelab.host.commands import CommandError, run
from nodelab.host.processes import lab_processes, terminate_all
from nodelab.lab.containerd.host_files import remove_made_dirs, remove_shim_sockets, shim_sockets
from nodelab.lab.daemons import Supervisor
from nodelab.lab.ledger import Entry, Ledger
from nodelab.lab.names import LabNames
from nodelab.lab.paths import LabPaths
from nodelab.lab.supervision.client import stop_supervision

Progress = Callable[[str], None]


def take_down(names: LabNames, paths: LabPaths, progress: Progress | None = None,
              keep_state: bool = False) -> None:
    """Remove everything of the lab; with `keep_state`, everything but its state dir (what a
    host reboot leaves behind: the fault tests simulate one with it, after kill -9 of every
    lab process)."""
    say = progress or (lambda _message: None)
    ledger = Ledger(paths.ledger)
    entries = list(reversed(ledger.entries()))
    supervisor = Supervisor(names.lab, paths, ledger)
    say("stopping supervision")
    stop_supervision(names.lab, paths)  # first: nothing may restart what is stopped below
    sockets: set[Path] = set()  # containerd shims' sockets, read before the shims end
    for state in paths.root.glob("nodes/*/containerd/run"):
        sockets |= shim_sockets(state)
    daemons = list(dict.fromkeys(e.name for e in entries if e.kind == "daemon"))
    if daemons:
        say(f"stopping {', '.join(daemons)}")
    supervisor.stop(daemons)
    terminate_all(lab_processes(names.lab), grace=2.0)
    remove_shim_sockets(sockets)  # a SIGKILLed shim leaves its socket in /run/containerd/s
    for point in mounts.mounts_under(paths.root):
        mounts.unmount(point)
    for entry in entries:
        if entry.kind == "mount":
            mounts.unmount(Path(entry.name))
        elif entry.kind == "iptables-chain":
            _delete_iptables_chain(entry)
        elif entry.kind == "nft-table":
            _delete_nft_table(entry)
    for entry in entries:
        if entry.kind == "cgroup":
            for group in cgroups.existing_groups(entry.name):
                cgroups.remove_group_tree(group)
    for hierarchy in cgroups.hierarchies():  # also prunes an empty `nodelab/` left behind
        cgroups.remove_group_tree(hierarchy / names.cgroup())
    namespaces = {e.name for e in entries if e.kind == "netns"}
    namespaces |= {n for n in netlink.list_netns() if names.owns(n)}
    for namespace in sorted(namespaces):
        say(f"removing network namespace {namespace}")
        netlink.delete_netns(namespace)
    links = {e.name for e in entries if e.kind == "link" and not e.namespace}
    links |= {link for link in netlink.link_names() if names.owns(link)}
    for link in sorted(links):
        say(f"removing link {link}")
        netlink.delete_link(link)
    if keep_state:
        return
    if paths.root.exists():
        shutil.rmtree(paths.root, ignore_errors=True)
    made = {e.name for e in entries if e.kind == "host-dir" and e.detail == "made"}
    remove_made_dirs([Path(name) for name in made])  # only if empty: another may use them


def _delete_iptables_chain(entry: Entry) -> None:
    """Remove one chain nodelab made in the root namespace, and the jump rules into it."""
    table = entry.detail or "filter"
    prefix = ["ip", "netns", "exec", entry.namespace] if entry.namespace else []
    try:
        rules = run([*prefix, "iptables", "-t", table, "-S"]).stdout.splitlines()
    except CommandError:
        return
    for rule in rules:
        words = shlex.split(rule)
        if words[:1] == ["-A"] and "-j" in words and words[words.index("-j") + 1] == entry.name:
            run([*prefix, "iptables", "-t", table, "-D", *words[1:]], check=False)
    run([*prefix, "iptables", "-t", table, "-F", entry.name], check=False)
    run([*prefix, "iptables", "-t", table, "-X", entry.name], check=False)


def _delete_nft_table(entry: Entry) -> None:
    family, _, table = entry.name.partition(" ")
    prefix = ["ip", "netns", "exec", entry.namespace] if entry.namespace else []
    run([*prefix, "nft", "delete", "table", family, table], check=False)
