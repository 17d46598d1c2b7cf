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
deletes the map elements that changed and rewrites the chains of changed Services. Chains no
longer used are flushed now and deleted by the next sync (`stale_chains`), as upstream does,
because old kernels notice late that a map element no longer points at them.

Base-chain priorities are written as numbers (dstnat = -100, srcnat = 100): upstream writes the
names, but nft 1.0.6 (Debian 12) accepts `dstnat` only on the prerouting hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import is_nft_service_chain, nft_endpoint_base, nft_service_base
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.nftables_skeleton import ELEMENT_CONTAINERS, MARK_MASQ, T, skeleton
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)


@dataclass(frozen=True)
class Element:
    """One element of a set (value "") or map, in nft syntax."""

    key: str
    value: str = ""
    comment: str = ""

    def text(self) -> str:
        comment = f' comment "{self.comment}"' if self.comment else ""
        value = f" : {self.value}" if self.value else ""
        return f"{self.key}{comment}{value}"


@dataclass(frozen=True)
class NftServiceBlock:
    """The chains, rules and affinity sets owned by one Service (all its ports)."""

    chains: tuple[str, ...]
    rules: tuple[tuple[str, str], ...]
    sets: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class NftPlan:
    """One sync's `nft -f` script, and what the next (partial) sync needs to diff against."""

    script: str
    full: bool
    elements: Mapping[str, Mapping[str, Element]]
    blocks: Mapping[tuple[str, str], NftServiceBlock]
    active_chains: frozenset[str]
    stale_chains: frozenset[str]
    written_services: tuple[tuple[str, str], ...]
    rules_total: int
    rules_written: int
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class _Sync:
    node: ProxyNode
    elements: dict[str, dict[str, Element]] = field(
        default_factory=lambda: {c: {} for c in ELEMENT_CONTAINERS}
    )

    def put(self, container: str, element: Element) -> None:
        self.elements[container].setdefault(element.key, element)


@dataclass
class _Block:
    chains: list[str] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)
    sets: list[tuple[str, int]] = field(default_factory=list)


def _service(svc: ServicePort, endpoints: tuple[Endpoint, ...], sync: _Sync, block: _Block) -> None:
    chains, rules, sets = block.chains, block.rules, block.sets
    node = sync.node
    proto = svc.protocol
    name = str(svc.name)
    cats = categorize_endpoints(endpoints, svc)
    base = nft_service_base(svc.name)
    cluster_chain, local_chain, ext_chain = f"service-{base}", f"local-{base}", f"external-{base}"
    uses_cluster = bool(cats.cluster) and svc.uses_cluster_endpoints
    uses_local = bool(cats.local) and svc.uses_local_endpoints
    internal_chain, has_internal = cluster_chain, cats.has_endpoints
    if svc.internal_policy_local:
        internal_chain, has_internal = local_chain, bool(cats.local) and cats.has_endpoints
    external_policy_chain, has_external = cluster_chain, cats.has_endpoints
    if svc.external_policy_local:
        external_policy_chain = local_chain
        has_external = bool(cats.local) and cats.has_endpoints
    uses_ext = cats.has_endpoints and svc.externally_accessible
    if not cats.has_endpoints:
        int_verdict = ext_verdict = "goto reject-chain"
    else:
        int_verdict = ext_verdict = "drop"

    ep_bases = {str(ep): nft_endpoint_base(svc.name, ep) for ep in cats.reachable}
    for ep in cats.reachable:
        chains.append(f"endpoint-{ep_bases[str(ep)]}")
        if svc.affinity_client_ip:
            sets.append((f"affinity-{ep_bases[str(ep)]}", svc.sticky_seconds))
    if uses_cluster:
        chains.append(cluster_chain)
    if uses_local:
        chains.append(local_chain)
    if uses_ext:
        chains.append(ext_chain)

    key = f"{svc.cluster_ip} . {proto} . {svc.port}"
    sync.put("cluster-ips", Element(svc.cluster_ip))
    if has_internal:
        sync.put("service-ips", Element(key, f"goto {internal_chain}"))
    else:
        sync.put("no-endpoint-services", Element(key, int_verdict, name))
    for ip in svc.external_ips:
        ext_key = f"{ip} . {proto} . {svc.port}"
        if cats.has_endpoints:
            sync.put("service-ips", Element(ext_key, f"goto {ext_chain}"))
        if not has_external:
            sync.put("no-endpoint-services", Element(ext_key, ext_verdict, name))
    if svc.node_port:
        np_key = f"{proto} . {svc.node_port}"
        if cats.has_endpoints:
            sync.put("service-nodeports", Element(np_key, f"goto {ext_chain}"))
        if not has_external:
            sync.put("no-endpoint-nodeports", Element(np_key, ext_verdict, name))

    if has_internal:
        dest = f"ip daddr {svc.cluster_ip} {proto} dport {svc.port}"
        if node.masquerade_all:
            rules.append((internal_chain, f"{dest} jump {MARK_MASQ}"))
        elif node.cluster_cidr:
            rules.append(
                (internal_chain, f"{dest} ip saddr != {node.cluster_cidr} jump {MARK_MASQ}")
            )
    if uses_ext:
        if not svc.external_policy_local:
            rules.append((ext_chain, f"jump {MARK_MASQ}"))
        else:
            if node.cluster_cidr:
                rules.append(
                    (
                        ext_chain,
                        f"ip saddr {node.cluster_cidr} goto {cluster_chain} "
                        'comment "short-circuit pod traffic"',
                    )
                )
            rules.append(
                (
                    ext_chain,
                    f'fib saddr type local jump {MARK_MASQ} comment "masquerade local traffic"',
                )
            )
            rules.append(
                (
                    ext_chain,
                    f"fib saddr type local goto {cluster_chain} "
                    'comment "short-circuit local traffic"',
                )
            )
        if has_external:
            rules.append((ext_chain, f"goto {external_policy_chain}"))
    if uses_cluster:
        _balance(svc, cluster_chain, cats.cluster, ep_bases, rules)
    if uses_local:
        _balance(svc, local_chain, cats.local, ep_bases, rules)
    for ep in cats.reachable:
        ep_chain = f"endpoint-{ep_bases[str(ep)]}"
        rules.append((ep_chain, f"ip saddr {ep.ip} jump {MARK_MASQ}"))
        if svc.affinity_client_ip:
            rules.append((ep_chain, f"update @affinity-{ep_bases[str(ep)]} {{ ip saddr }}"))
        rules.append((ep_chain, f"meta l4proto {proto} dnat to {ep}"))


def _balance(
    svc: ServicePort,
    chain: str,
    endpoints: tuple[Endpoint, ...],
    ep_bases: Mapping[str, str],
    rules: list[tuple[str, str]],
) -> None:
    if svc.affinity_client_ip:
        for ep in endpoints:
            base = ep_bases[str(ep)]
            rules.append((chain, f"ip saddr @affinity-{base} goto endpoint-{base}"))
    picks = ", ".join(f"{i} : goto endpoint-{ep_bases[str(ep)]}" for i, ep in enumerate(endpoints))
    rules.append((chain, f"numgen random mod {len(endpoints)} vmap {{ {picks} }}"))


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
    ports = build_service_ports(state)
    endpoints_map = build_endpoints_map(state, node.name)
    sync = _Sync(node)

    building: dict[tuple[str, str], _Block] = {}
    for sp_name in sorted(ports):
        svc = ports[sp_name]
        block = building.setdefault(sp_name.service, _Block())
        _service(svc, endpoints_map.get(svc.name, ()), sync, block)
    blocks = {
        key: NftServiceBlock(tuple(b.chains), tuple(b.rules), tuple(b.sets))
        for key, b in building.items()
    }

    out: list[str] = []
    active = frozenset(c for b in blocks.values() for c in b.chains)
    deleted = previous.stale_chains - active if previous is not None else frozenset()
    out += [f"delete chain {T} {chain}" for chain in sorted(deleted)]
    if full:
        out += skeleton(node, first=previous is None)

    written: list[tuple[str, str]] = []
    rules_written = 0
    for key, svc_block in blocks.items():
        if not full and previous is not None and previous.blocks.get(key) == svc_block:
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

    for container in ELEMENT_CONTAINERS:
        new = sync.elements[container]
        old = {} if full or previous is None else previous.elements.get(container, {})
        for k, el in old.items():
            if k not in new or new[k] != el:
                out.append(f"delete element {T} {container} {{ {k} }}")
        for k, el in new.items():
            if k not in old or old[k] != el:
                out.append(f"add element {T} {container} {{ {el.text()} }}")

    known_chains = set(existing_chains) | (set(previous.active_chains) if previous else set())
    stale = frozenset(c for c in known_chains - active - deleted if is_nft_service_chain(c))
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
        elements=sync.elements,
        blocks=blocks,
        active_chains=active,
        stale_chains=stale,
        written_services=tuple(written),
        rules_total=rules_total,
        rules_written=rules_written,
        endpoints={str(k): tuple(str(e) for e in v) for k, v in endpoints_map.items()},
    )
