"""One Service's share of the nftables-mode rules, rendered on its own and kept between syncs.

A Service owns its chains (`service-`, `local-`, `external-`, `endpoint-` per service port),
their rules and its affinity sets, written only when the Service changed; and it contributes
elements to the shared verdict maps and sets (`service-ips`, `cluster-ips`, ...), which a
partial sync adds and deletes one by one (upstream's `nftElementStorage`). `render_service`
returns both, with what they were rendered from, so the plan can reuse the block while the
Service and its EndpointSlices stay the same; the rules follow upstream's nftables
`syncProxyRules` (see `nftables.plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import nft_endpoint_base, nft_service_base
from nodelab.proxy.changes import ServiceInputs
from nodelab.proxy.model import ProxyNode
from nodelab.proxy.nftables.skeleton import MARK_MASQ
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    categorize_endpoints,
    endpoints_of,
    routing,
    service_ports_of,
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
    """The chains, rules, affinity sets and map elements of one Service (all its ports)."""

    chains: tuple[str, ...]
    rules: tuple[tuple[str, str], ...]
    sets: tuple[tuple[str, int], ...]
    elements: tuple[tuple[str, Element], ...] = ()
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inputs: ServiceInputs | None = None


@dataclass
class _Block:
    node: ProxyNode
    chains: list[str] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)
    sets: list[tuple[str, int]] = field(default_factory=list)
    elements: list[tuple[str, Element]] = field(default_factory=list)

    def put(self, container: str, element: Element) -> None:
        self.elements.append((container, element))


def render_service(inputs: ServiceInputs, node: ProxyNode) -> NftServiceBlock:
    """Everything one Service contributes (pure)."""
    ports = {sp.name: sp for sp in service_ports_of(inputs.service)}
    found = endpoints_of(inputs.slices, node.name)
    block = _Block(node)
    for name in sorted(ports):
        _service(ports[name], found.get(name, ()), block)
    return NftServiceBlock(
        tuple(block.chains),
        tuple(block.rules),
        tuple(block.sets),
        tuple(block.elements),
        {str(n): tuple(str(e) for e in found[n]) for n in sorted(ports) if n in found},
        inputs,
    )


def _service(svc: ServicePort, endpoints: tuple[Endpoint, ...], block: _Block) -> None:
    chains, rules, sets = block.chains, block.rules, block.sets
    node = block.node
    proto = svc.protocol
    name = str(svc.name)
    cats = categorize_endpoints(endpoints, svc)
    base = nft_service_base(svc.name)
    cluster_chain, local_chain, ext_chain = f"service-{base}", f"local-{base}", f"external-{base}"
    route = routing(svc, cats)
    internal_chain = local_chain if route.internal_local else cluster_chain
    external_policy_chain = local_chain if route.external_local else cluster_chain
    if not cats.has_endpoints:
        int_verdict = ext_verdict = "goto reject-chain"
    else:
        int_verdict = ext_verdict = "drop"

    ep_bases = {str(ep): nft_endpoint_base(svc.name, ep) for ep in cats.reachable}
    for ep in cats.reachable:
        chains.append(f"endpoint-{ep_bases[str(ep)]}")
        if svc.affinity_client_ip:
            sets.append((f"affinity-{ep_bases[str(ep)]}", svc.sticky_seconds))
    if route.uses_cluster:
        chains.append(cluster_chain)
    if route.uses_local:
        chains.append(local_chain)
    if route.uses_external:
        chains.append(ext_chain)

    key = f"{svc.cluster_ip} . {proto} . {svc.port}"
    block.put("cluster-ips", Element(svc.cluster_ip))
    if route.has_internal:
        block.put("service-ips", Element(key, f"goto {internal_chain}"))
    else:
        block.put("no-endpoint-services", Element(key, int_verdict, name))
    for ip in svc.external_ips:
        ext_key = f"{ip} . {proto} . {svc.port}"
        if cats.has_endpoints:
            block.put("service-ips", Element(ext_key, f"goto {ext_chain}"))
        if not route.has_external:
            block.put("no-endpoint-services", Element(ext_key, ext_verdict, name))
    if svc.node_port:
        np_key = f"{proto} . {svc.node_port}"
        if cats.has_endpoints:
            block.put("service-nodeports", Element(np_key, f"goto {ext_chain}"))
        if not route.has_external:
            block.put("no-endpoint-nodeports", Element(np_key, ext_verdict, name))

    if route.has_internal:
        dest = f"ip daddr {svc.cluster_ip} {proto} dport {svc.port}"
        if node.masquerade_all:
            rules.append((internal_chain, f"{dest} jump {MARK_MASQ}"))
        elif node.cluster_cidr:
            rules.append(
                (internal_chain, f"{dest} ip saddr != {node.cluster_cidr} jump {MARK_MASQ}")
            )
    if route.uses_external:
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
        if route.has_external:
            rules.append((ext_chain, f"goto {external_policy_chain}"))
    if route.uses_cluster:
        _balance(svc, cluster_chain, cats.cluster, ep_bases, rules)
    if route.uses_local:
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
