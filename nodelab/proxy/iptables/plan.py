"""The iptables-mode plan: the exact `iptables-restore --noflush` payload kube-proxy would write.

`render_iptables(state, node, previous)` is a pure function. It follows upstream's
`syncProxyRules` (pkg/proxy/iptables/proxier.go) line for line in what it writes:

- filter table: KUBE-SERVICES (REJECT for service ports with no endpoints, DROP for no local
  endpoints), KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-FORWARD, KUBE-PROXY-FIREWALL, and
  KUBE-FIREWALL (the localhost NodePort guard);
- nat table: KUBE-SERVICES (one rule per ClusterIP/external IP, then the jump to
  KUBE-NODEPORTS as the last rule), KUBE-NODEPORTS, KUBE-POSTROUTING (masquerade what carries
  the mark), KUBE-MARK-MASQ, and per service port KUBE-SVC-/KUBE-SVL-/KUBE-EXT- chains that pick
  a KUBE-SEP- endpoint chain with `-m statistic --mode random --probability 1/(n-i)`; each SEP
  marks hairpin traffic for masquerade and DNATs. ClientIP affinity uses `-m recent`.

A line `:CHAIN - [0:0]` in a `--noflush` restore creates or flushes exactly that chain, so the
payload touches only the chains it names: every top-level chain each time, and the per-service
chains only of services whose rules changed since `previous` (a *partial* sync, as upstream
does). Each Service's lines are a `ServiceBlock` (`iptables.service`) kept in the plan with
what it was rendered from; the next render reuses the blocks of Services whose Service object
and EndpointSlices are unchanged (`changes.changed_services`) and renders only the others, so a
partial sync's cost follows what changed, not the cluster's size. With `previous=None` it is a
*full* sync: every chain is written, and `existing_chains` (read from `iptables-save` by the
apply layer) lets it delete leftovers of earlier runs. Chains that a sync no longer uses are
flushed and deleted (`-X`).

The jump rules from the built-in chains (`-A PREROUTING -j KUBE-SERVICES`, ...) cannot be
declared in a noflush restore without flushing those built-in chains. Upstream ensures each with
`iptables -C || iptables -I` on every full sync (20 processes). When the caller read the
kernel's rules (`existing_jumps`, the lines of the built-in chains from the same
`iptables-save`), a full sync instead inserts the missing ones with `-I` lines inside the
restore itself, and declares upstream's canary chain KUBE-PROXY-CANARY in mangle, nat and
filter; otherwise the jumps are listed apart in `jumps` for the apply layer to ensure one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import is_iptables_service_chain
from nodelab.proxy.changes import (
    ServiceInputs,
    ServiceKey,
    chains_in_use,
    changed_services,
    group_inputs,
)
from nodelab.proxy.iptables.chains import (
    FILTER_TOP_CHAINS,
    JUMP_RULES,
    KUBE_FIREWALL,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_PROXY_CANARY,
    KUBE_SERVICES,
    KUBELET_JUMP_RULES,
    NAT_TOP_CHAINS,
    JumpRule,
)
from nodelab.proxy.iptables.service import (
    ServiceBlock,
    ServiceEndpoints,
    comment,
    render_service,
    service_endpoints,
)
from nodelab.proxy.model import ProxyNode, ProxyState

LARGE_CLUSTER_ENDPOINTS = 1000
"""Above this many endpoints in total, per-endpoint comments are left out (upstream's
largeClusterMode): they would make the payload 40% bigger for nothing a machine reads."""

__all__ = ["LARGE_CLUSTER_ENDPOINTS", "IptablesPlan", "ServiceBlock", "render_iptables"]


@dataclass(frozen=True)
class IptablesPlan:
    """One sync's payload for `iptables-restore --noflush`, and what the next sync needs."""

    payload: str
    full: bool
    jumps: tuple[JumpRule, ...]
    blocks: Mapping[ServiceKey, ServiceBlock]
    active_nat_chains: frozenset[str]
    written_services: tuple[ServiceKey, ...]
    deleted_chains: tuple[str, ...]
    rules_total: int
    rules_written: int
    route_localnet: bool = False
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    changed_services: frozenset[ServiceKey] = frozenset()
    """The Services rendered again or gone since `previous` (what conntrack cleanup reads)."""


def _fixed_rules(node: ProxyNode) -> tuple[list[str], list[str], list[str]]:
    """(filter rules before services, nat rules before services, KUBE-FORWARD rules)."""
    mark = node.masquerade_mark
    nat = [
        f"-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN",
        f"-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}",
        f"-A {KUBE_POSTROUTING} {comment('kubernetes service traffic requiring SNAT')} "
        "-j MASQUERADE --random-fully",
        f"-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}",
    ]
    filt = []
    if node.localhost_nodeports:
        filt.append(
            f"-A {KUBE_FIREWALL} {comment('block incoming localnet connections')} "
            "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT "
            "-j DROP"
        )
    forward = []
    if not node.conntrack_tcp_liberal:
        forward.append(f"-A {KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP")
    forward += [
        f"-A {KUBE_FORWARD} {comment('kubernetes forwarding rules')} "
        f"-m mark --mark {mark}/{mark} -j ACCEPT",
        f"-A {KUBE_FORWARD} {comment('kubernetes forwarding conntrack rule')} "
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    return filt, nat, forward


def _blocks(
    inputs: Mapping[ServiceKey, ServiceInputs], node: ProxyNode, previous: IptablesPlan | None
) -> tuple[dict[ServiceKey, ServiceBlock], frozenset[ServiceKey]]:
    """Every Service's block (the previous plan's where its inputs are unchanged, else new),
    and the Services rendered again or gone.

    Large-cluster mode depends on the total number of endpoints; when it flips, every block
    is rendered again (their comments change).
    """
    old = previous.blocks if previous is not None else {}
    old_inputs = {k: b.inputs for k, b in old.items() if b.inputs is not None}
    changed = changed_services(old_inputs, inputs)
    found: dict[ServiceKey, ServiceEndpoints] = {
        k: service_endpoints(inputs[k], node.name) for k in changed if k in inputs
    }
    total = sum(f.count for f in found.values())
    total += sum(old[k].endpoint_count for k in inputs if k not in changed)
    large = total > LARGE_CLUSTER_ENDPOINTS
    if any(b.large != large for b in old.values()):
        changed = changed | frozenset(inputs)
        found = {k: found.get(k) or service_endpoints(inputs[k], node.name) for k in inputs}
    blocks = {
        k: render_service(inputs[k], found[k], node, large) if k in changed else old[k]
        for k in sorted(inputs)
    }
    return blocks, changed


def _jump_lines(
    jumps: tuple[JumpRule, ...], table: str, existing: frozenset[tuple[str, str]]
) -> list[str]:
    """`-I` lines for the jumps of `table` that are not in place yet (upstream: EnsureRule)."""
    return [
        f"-I {j.src_chain} {j.rule_text()}"
        for j in jumps
        if j.table == table and (table, j.saved_line()) not in existing
    ]


def render_iptables(
    state: ProxyState,
    node: ProxyNode,
    previous: IptablesPlan | None = None,
    *,
    full: bool | None = None,
    existing_chains: frozenset[str] = frozenset(),
    existing_jumps: frozenset[tuple[str, str]] | None = None,
) -> IptablesPlan:
    """The iptables-restore payload for `state` on `node`.

    Partial if `previous` is given (unless `full=True`, the periodic full resync);
    `existing_chains`, read from `iptables-save -t nat`, lets a full sync delete leftovers;
    `existing_jumps`, the (table, line) rules of the built-in chains from the same save, lets it
    insert the missing jumps and the canary chains within the restore.
    """
    if full is None:
        full = previous is None
    blocks, changed = _blocks(group_inputs(state), node, previous)
    filter_head, nat_head, forward = _fixed_rules(node)
    service_filter = [line for b in blocks.values() for line in b.filter_rules]
    service_nat = [line for b in blocks.values() for line in b.nat_rules]

    written: list[ServiceKey] = []
    nat_chains = list(NAT_TOP_CHAINS)
    service_rules: list[str] = []
    for key, block in blocks.items():
        old = previous.blocks.get(key) if previous is not None else None
        if full or old is None or (old.chains, old.rules) != (block.chains, block.rules):
            written.append(key)
            nat_chains += block.chains
            service_rules += block.rules

    old_active = previous.active_nat_chains if previous is not None else None
    active = chains_in_use(old_active, previous.blocks if previous else {}, blocks, changed)
    unused = (existing_chains - active) | ((old_active or frozenset()) - active)
    stale = sorted(c for c in unused if is_iptables_service_chain(c))
    nat_chains += stale
    local = "-m addrtype --dst-type LOCAL"
    if not node.localhost_nodeports:
        local += " ! -d 127.0.0.0/8"
    last = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
    nat_tail = [f"-A {KUBE_SERVICES} {comment(last)} {local} -j {KUBE_NODEPORTS}"]

    jumps = JUMP_RULES + (KUBELET_JUMP_RULES if node.localhost_nodeports else ())
    inline = full and existing_jumps is not None
    canary = [f":{KUBE_PROXY_CANARY} - [0:0]"] if inline else []
    filter_jumps = _jump_lines(jumps, "filter", existing_jumps or frozenset()) if inline else []
    nat_jumps = _jump_lines(jumps, "nat", existing_jumps or frozenset()) if inline else []

    filter_rules = filter_head + service_filter + forward
    nat_rules = nat_head + service_nat + service_rules + [f"-X {c}" for c in stale] + nat_tail
    filter_chains = list(FILTER_TOP_CHAINS) + ([KUBE_FIREWALL] if node.localhost_nodeports else [])
    lines = ["*mangle", *canary, "COMMIT"] if inline else []
    lines += ["*filter"]
    lines += [f":{c} - [0:0]" for c in filter_chains] + canary
    lines += filter_rules + filter_jumps
    lines += ["COMMIT", "*nat"]
    lines += [f":{c} - [0:0]" for c in nat_chains] + canary
    lines += nat_rules + nat_jumps
    lines.append("COMMIT")

    all_service_rules = sum(len(b.rules) for b in blocks.values())
    rules_total = (
        len(filter_rules) + len(nat_head) + len(service_nat) + all_service_rules + len(nat_tail)
    )
    return IptablesPlan(
        payload="\n".join(lines) + "\n",
        full=full,
        jumps=jumps if full and not inline else (),
        blocks=blocks,
        active_nat_chains=active,
        written_services=tuple(written),
        deleted_chains=tuple(stale),
        rules_total=rules_total,
        rules_written=len(filter_rules) + len(nat_rules) - len(stale),
        route_localnet=node.localhost_nodeports,
        endpoints={k: v for b in blocks.values() for k, v in b.endpoints.items()},
        changed_services=changed,
    )
