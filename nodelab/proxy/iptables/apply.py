"""Applying an iptables plan: one `iptables-restore --noflush` plus the jump rules. Thin on purpose.

`--noflush` keeps every chain the payload does not name, so rules that belong to others (the
CNI's masquerade chains, a firewall) stay as they are. The jumps from the built-in chains are
ensured one by one (`iptables -C`, then `-I` if missing), as upstream's EnsureRule does.

A full sync reads the kernel once (`read_iptables`: one `iptables-save`) for the plan to delete
leftover chains and to insert missing jumps within the restore; `canary_present` is the check
behind upstream's iptables `Monitor` (are the KUBE-PROXY-CANARY chains still there?).

`remove_iptables_rules` undoes all of it, for a switch to nftables mode or `nodelab down`:
it deletes the jump rules (only ours, matched exactly), then flushes and deletes our chains.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodelab.errors import NodelabError
from nodelab.host.commands import CommandError
from nodelab.proxy.chain_names import is_iptables_service_chain
from nodelab.proxy.iptables.chains import (
    CANARY_TABLES,
    FILTER_TOP_CHAINS,
    JUMP_RULES,
    KUBE_FIREWALL,
    KUBE_MARK_MASQ,
    KUBE_PROXY_CANARY,
    KUBELET_JUMP_RULES,
    NAT_TOP_CHAINS,
    JumpRule,
)
from nodelab.proxy.iptables.plan import IptablesPlan
from nodelab.proxy.node_namespace import APPLY_TIMEOUT, NodeNamespace

RESTORE = ["iptables-restore", "-w", "5", "--noflush", "--counters"]
ROUTE_LOCALNET = "net.ipv4.conf.all.route_localnet"


class IptablesApplyError(NodelabError):
    pass


BUILTIN_CHAINS = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})


@dataclass(frozen=True)
class IptablesSnapshot:
    """What a full sync needs to know of the kernel: the nat chains (to delete leftovers)
    and the rules of the built-in chains, as (table, line) (to see which jumps are in place)."""

    nat_chains: frozenset[str]
    builtin_rules: frozenset[tuple[str, str]]


def parse_saved(text: str) -> IptablesSnapshot:
    """Read `iptables-save` output (pure)."""
    table = ""
    nat_chains: set[str] = set()
    rules: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":") and table == "nat":
            nat_chains.add(line[1:].split(" ", 1)[0])
        elif line.startswith("-A ") and line.split(" ", 2)[1] in BUILTIN_CHAINS:
            rules.add((table, line))
    return IptablesSnapshot(frozenset(nat_chains), frozenset(rules))


def read_iptables(ns: NodeNamespace) -> IptablesSnapshot:
    """One `iptables-save` of every table in `ns`."""
    return parse_saved(ns.run(["iptables-save"], check=False, timeout=APPLY_TIMEOUT).stdout)


def existing_chains(ns: NodeNamespace, table: str = "nat") -> frozenset[str]:
    """Chain names in `table`, from `iptables-save` (empty if the table does not exist)."""
    out = ns.run(["iptables-save", "-t", table], check=False).stdout
    return frozenset(line[1:].split(" ", 1)[0] for line in out.splitlines() if line.startswith(":"))


def canary_present(ns: NodeNamespace) -> bool:
    """Whether every KUBE-PROXY-CANARY chain is still there (False: someone flushed rules)."""
    for table in CANARY_TABLES:
        probe = ["iptables", "-w", "5", "-t", table, "-n", "-L", KUBE_PROXY_CANARY]
        if ns.run(probe, check=False).returncode != 0:
            return False
    return True


def ensure_jump(ns: NodeNamespace, jump: JumpRule) -> None:
    args = jump.rule_args()
    probe = ns.run(
        ["iptables", "-w", "5", "-t", jump.table, "-C", jump.src_chain, *args], check=False
    )
    if probe.returncode != 0:
        ns.run(["iptables", "-w", "5", "-t", jump.table, "-I", jump.src_chain, *args])


def apply_iptables(plan: IptablesPlan, ns: NodeNamespace, *, route_localnet: bool = False) -> None:
    """Load `plan` into the kernel of `ns` atomically (per table), then ensure the jumps the
    payload does not insert itself; first set `route_localnet` if asked."""
    try:
        if route_localnet:
            ns.set_sysctl(ROUTE_LOCALNET, "1")
        ns.run(RESTORE, input=plan.payload, timeout=APPLY_TIMEOUT)
        for jump in plan.jumps:
            ensure_jump(ns, jump)
    except CommandError as exc:
        raise IptablesApplyError(
            f"cannot apply the kube-proxy iptables rules in {ns}: {exc} "
            "(the rules are unchanged; the next sync is a full one)"
        ) from exc


def _delete_jump(ns: NodeNamespace, jump: JumpRule) -> None:
    args = jump.rule_args()
    for _ in range(16):
        done = ns.run(
            ["iptables", "-w", "5", "-t", jump.table, "-D", jump.src_chain, *args], check=False
        )
        if done.returncode != 0:
            return


def _drop_chains(ns: NodeNamespace, table: str, chains: list[str], check: bool) -> None:
    if not chains:
        return
    lines = [f"*{table}"] + [f":{c} - [0:0]" for c in chains] + [f"-X {c}" for c in chains]
    ns.run(RESTORE, input="\n".join(lines + ["COMMIT"]) + "\n", check=check, timeout=APPLY_TIMEOUT)


def remove_iptables_rules(ns: NodeNamespace) -> None:
    """Remove every rule and chain kube-proxy's iptables mode made in `ns` (idempotent)."""
    for jump in JUMP_RULES + KUBELET_JUMP_RULES:
        _delete_jump(ns, jump)
    nat = existing_chains(ns, "nat")
    ours = [c for c in NAT_TOP_CHAINS if c in nat and c != KUBE_MARK_MASQ]
    ours += sorted(c for c in nat if is_iptables_service_chain(c))
    _drop_chains(ns, "nat", ours, check=True)
    # KUBE-MARK-MASQ and KUBE-FIREWALL are shared with the kubelet upstream: remove them only
    # if nothing else still jumps to them.
    _drop_chains(ns, "nat", [KUBE_MARK_MASQ] if KUBE_MARK_MASQ in nat else [], check=False)
    filt = existing_chains(ns, "filter")
    _drop_chains(ns, "filter", [c for c in FILTER_TOP_CHAINS if c in filt], check=True)
    _drop_chains(ns, "filter", [KUBE_FIREWALL] if KUBE_FIREWALL in filt else [], check=False)
    mangle = existing_chains(ns, "mangle")
    for table, chains in (("mangle", mangle), ("nat", nat), ("filter", filt)):
        canary = [KUBE_PROXY_CANARY] if KUBE_PROXY_CANARY in chains else []
        _drop_chains(ns, table, canary, check=True)
