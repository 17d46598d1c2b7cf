"""The nftables-mode plan: the `nft -f` transaction kube-proxy would run on table `ip kube-proxy`.

`render_nftables(state, node, previous)` is pure and follows upstream's nftables proxier
(pkg/proxy/nftables/proxier.go). Everything lives in one table that kube-proxy owns, so nothing
else on the node is ever touched. The dispatch is by lookup, not by a list of rules:

    chain services {
        ip daddr . meta l4proto . th dport vmap @service-ips
        fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
    }

`service-ips` maps `clusterIP . tcp . port` to `goto service-<hash>-ns/name/tcp/port`, whose
single rule picks an endpoint with `numgen random mod N vmap { 0 : goto endpoint-..., ... }`.
Service ports with no endpoints are in `no-endpoint-services`, mapped to `goto reject-chain`
(or `drop` for Local policy without local endpoints), looked up from the filter hooks. ClientIP
affinity is a per-endpoint set with a timeout (`update @affinity-... { ip saddr }`).

The script is a single nft transaction (atomic). A *full* sync (`previous=None`) re-creates the
table's skeleton, flushes every map and set and refills them; a *partial* sync only adds and
deletes the map elements that changed and rewrites the chains of changed Services. Each
Service's chains, rules and elements are an `NftServiceBlock` (`nftables.service`) kept in the
plan with what it was rendered from; the next render reuses the blocks of Services whose
Service object and EndpointSlices are unchanged (`changes.changed_services`), and compares map
elements only where a changed Service had or has one, so a partial sync's cost follows what
changed, not the cluster's size. Chains no
longer used are flushed now and deleted by the next sync (`stale_chains`), as upstream does,
because old kernels notice late that a map element no longer points at them.

Base-chain priorities are written as numbers (dstnat = -100, srcnat = 100): upstream writes the
names, but nft 1.0.6 (Debian 12) accepts `dstnat` only on the prerouting hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import is_nft_service_chain
from nodelab.proxy.changes import ServiceKey, chains_in_use, changed_services, group_inputs
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.nftables.service import Element, NftServiceBlock, render_service
from nodelab.proxy.nftables.skeleton import ELEMENT_CONTAINERS, T, skeleton

__all__ = ["Element", "NftPlan", "NftServiceBlock", "render_nftables"]


@dataclass(frozen=True)
class NftPlan:
    """One sync's `nft -f` script, and what the next (partial) sync needs to diff against."""

    script: str
    full: bool
    elements: Mapping[str, Mapping[str, Element]]
    blocks: Mapping[ServiceKey, NftServiceBlock]
    active_chains: frozenset[str]
    stale_chains: frozenset[str]
    written_services: tuple[ServiceKey, ...]
    rules_total: int
    rules_written: int
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    changed_services: frozenset[ServiceKey] = frozenset()
    """The Services rendered again or gone since `previous` (what conntrack cleanup reads)."""


def _element_changes(
    full: bool,
    previous: NftPlan | None,
    elements: Mapping[str, Mapping[str, Element]],
    touched: Mapping[str, list[str]],
) -> list[str]:
    """`delete element`/`add element` lines: all adds after a full sync's flush, else only
    for the keys a changed Service had or has (no other key can have changed)."""
    out: list[str] = []
    for container in ELEMENT_CONTAINERS:
        new = elements[container]
        if full or previous is None:
            out += [f"add element {T} {container} {{ {el.text()} }}" for el in new.values()]
            continue
        old = previous.elements.get(container, {})
        keys = list(dict.fromkeys(touched.get(container, ())))
        for k in keys:
            if k in old and new.get(k) != old[k]:
                out.append(f"delete element {T} {container} {{ {k} }}")
        for k in keys:
            if k in new and old.get(k) != new[k]:
                out.append(f"add element {T} {container} {{ {new[k].text()} }}")
    return out


def render_nftables(
    state: ProxyState,
    node: ProxyNode,
    previous: NftPlan | None = None,
    *,
    full: bool | None = None,
    existing_chains: frozenset[str] = frozenset(),
    existing_sets: frozenset[str] = frozenset(),
) -> NftPlan:
    """The nft transaction for `state` on `node`.

    Partial if `previous` is given (unless `full=True`, the periodic full resync); the
    `existing_*` names, listed from the kernel, let a full sync remove leftovers of older runs.
    """
    if full is None:
        full = previous is None
    inputs = group_inputs(state)
    old_blocks = previous.blocks if previous is not None else {}
    changed = changed_services(
        {k: b.inputs for k, b in old_blocks.items() if b.inputs is not None}, inputs
    )
    blocks = {
        k: render_service(inputs[k], node) if k in changed else old_blocks[k]
        for k in sorted(inputs)
    }
    # A key two Services share (an external IP, say) keeps the first one's verdict.
    elements: dict[str, dict[str, Element]] = {c: {} for c in ELEMENT_CONTAINERS}
    for block in blocks.values():
        for container, element in block.elements:
            elements[container].setdefault(element.key, element)
    touched: dict[str, list[str]] = {}
    for key in sorted(changed):
        for block_of in (old_blocks.get(key), blocks.get(key)):
            for container, element in block_of.elements if block_of is not None else ():
                touched.setdefault(container, []).append(element.key)

    out: list[str] = []
    old_active = previous.active_chains if previous is not None else None
    active = chains_in_use(old_active, old_blocks, blocks, changed)
    deleted = previous.stale_chains - active if previous is not None else frozenset()
    out += [f"delete chain {T} {chain}" for chain in sorted(deleted)]
    if full:
        out += skeleton(node, first=previous is None)

    written: list[ServiceKey] = []
    rules_written = 0
    for key, svc_block in blocks.items():
        old = old_blocks.get(key)
        if not full and old is not None and (old.chains, old.rules, old.sets) == (
            svc_block.chains, svc_block.rules, svc_block.sets
        ):
            continue
        written.append(key)
        for set_name, timeout in svc_block.sets:
            out.append(
                f"add set {T} {set_name} {{ type ipv4_addr ; flags dynamic,timeout ; "
                f"timeout {timeout}s ; }}"
            )
        for chain in svc_block.chains:
            out += [f"add chain {T} {chain}", f"flush chain {T} {chain}"]
        out += [f"add rule {T} {chain} {rule}" for chain, rule in svc_block.rules]
        rules_written += len(svc_block.rules)

    out += _element_changes(full, previous, elements, touched)

    unused = (existing_chains - active) | ((old_active or frozenset()) - active)
    stale = frozenset(c for c in unused - deleted if is_nft_service_chain(c))
    out += [f"flush chain {T} {c}" for c in sorted(stale)]
    active_sets = {s for b in blocks.values() for s, _ in b.sets}
    known_sets = set(existing_sets)
    if previous is not None:
        known_sets |= {s for b in previous.blocks.values() for s, _ in b.sets}
    for set_name in sorted(s for s in known_sets - active_sets if s.startswith("affinity-")):
        out.append(f"delete set {T} {set_name}")

    rules_total = sum(len(b.rules) for b in blocks.values())
    return NftPlan(
        script="\n".join(out) + "\n",
        full=full,
        elements=elements,
        blocks=blocks,
        active_chains=active,
        stale_chains=stale,
        written_services=tuple(written),
        rules_total=rules_total,
        rules_written=rules_written,
        endpoints={k: v for b in blocks.values() for k, v in b.endpoints.items()},
        changed_services=changed,
    )
