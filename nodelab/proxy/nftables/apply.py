"""Applying an nftables plan: one `nft -f -` transaction on table `ip kube-proxy`. Thin on purpose.

An nft script is one transaction: either all of it applies or none of it does. kube-proxy owns
the whole `ip kube-proxy` table, so removing nftables mode is deleting that table; no other
table is read or written.
"""

from __future__ import annotations

from nodelab.errors import NodelabError
from nodelab.host.commands import CommandError
from nodelab.proxy.nftables.plan import NftPlan
from nodelab.proxy.nftables.skeleton import FAMILY, TABLE
from nodelab.proxy.node_namespace import APPLY_TIMEOUT, NodeNamespace


class NftApplyError(NodelabError):
    pass


def existing_objects(ns: NodeNamespace) -> tuple[frozenset[str], frozenset[str]]:
    """(chains, sets) of table `ip kube-proxy` in `ns`; empty if the table does not exist."""
    out = ns.run(["nft", "list", "table", FAMILY, TABLE], check=False)
    if out.returncode != 0:
        return frozenset(), frozenset()
    chains: set[str] = set()
    sets: set[str] = set()
    for line in out.stdout.splitlines():
        words = line.split()
        if len(words) >= 3 and words[-1] == "{":
            if words[0] == "chain":
                chains.add(words[1])
            elif words[0] == "set":
                sets.add(words[1])
    return frozenset(chains), frozenset(sets)


def table_present(ns: NodeNamespace) -> bool:
    """Whether table `ip kube-proxy` is still there (False: someone flushed the ruleset).

    Upstream's nftables mode has no canary; `nft list tables` is cheap at any size, where
    listing the table would print every rule."""
    out = ns.run(["nft", "list", "tables", FAMILY], check=False).stdout
    return f"table {FAMILY} {TABLE}" in out.splitlines()


def apply_nftables(plan: NftPlan, ns: NodeNamespace) -> None:
    """Run `plan.script` as one nft transaction in `ns`."""
    try:
        ns.run(["nft", "-f", "-"], input=plan.script, timeout=APPLY_TIMEOUT)
    except CommandError as exc:
        raise NftApplyError(
            f"cannot apply the kube-proxy nftables rules in {ns}: {exc} "
            "(the transaction was rolled back; the next sync is a full one)"
        ) from exc


def remove_nftables_rules(ns: NodeNamespace) -> None:
    """Delete table `ip kube-proxy` in `ns` if it exists (idempotent)."""
    if ns.run(["nft", "list", "table", FAMILY, TABLE], check=False).returncode == 0:
        ns.run(["nft", "delete", "table", FAMILY, TABLE])
