"""Applying an iptables plan: one `iptables-restore --noflush` plus the jump rules. Thin on purpose.

`--noflush` keeps every chain the payload does not name, so rules that belong to others (the
CNI's masquerade chains, a firewall) stay as they are. The jumps from the built-in chains are
ensured one by one (`iptables -C`, then `-I` if missing), as upstream's EnsureRule does.

`remove_iptables_rules` undoes all of it, for a switch to nftables mode or `nodelab down`:
it deletes the jump rules (only ours, matched exactly), then flushes and deletes our chains.
"""

from __future__ import annotations

from nodelab.errors import NodelabError
from nodelab.host.commands import CommandError
from nodelab.proxy.chain_names import is_iptables_service_chain
from nodelab.proxy.iptables_chains import (
    FILTER_TOP_CHAINS,
    JUMP_RULES,
    KUBE_FIREWALL,
    KUBE_MARK_MASQ,
    KUBELET_JUMP_RULES,
    NAT_TOP_CHAINS,
    JumpRule,
)
from nodelab.proxy.iptables_plan import IptablesPlan
from nodelab.proxy.node_namespace import APPLY_TIMEOUT, NodeNamespace

RESTORE = ["iptables-restore", "-w", "5", "--noflush", "--counters"]


class IptablesApplyError(NodelabError):
    pass


def existing_chains(ns: NodeNamespace, table: str = "nat") -> frozenset[str]:
    """Chain names in `table`, from `iptables-save` (empty if the table does not exist)."""
    out = ns.run(["iptables-save", "-t", table], check=False).stdout
    return frozenset(line[1:].split(" ", 1)[0] for line in out.splitlines() if line.startswith(":"))


def ensure_jump(ns: NodeNamespace, jump: JumpRule) -> None:
    args = jump.rule_args()
    probe = ns.run(
        ["iptables", "-w", "5", "-t", jump.table, "-C", jump.src_chain, *args], check=False
    )
    if probe.returncode != 0:
        ns.run(["iptables", "-w", "5", "-t", jump.table, "-I", jump.src_chain, *args])


def apply_iptables(plan: IptablesPlan, ns: NodeNamespace) -> None:
    """Load `plan` into the kernel of `ns` atomically (per table), then ensure the jumps."""
    try:
        if plan.route_localnet and plan.full:
            ns.set_sysctl("net.ipv4.conf.all.route_localnet", "1")
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
