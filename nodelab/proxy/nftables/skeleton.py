"""The fixed part of nftables mode: table `ip kube-proxy`, its base chains, maps and sets.

Upstream's `setupNFTables` (pkg/proxy/nftables/proxier.go), written on every full sync: base
chains hooked into netfilter (filter ones just before DNAT, so they see the Service address;
nat ones at DNAT/SNAT priority), the regular chains they jump to, the masquerade chains, the
`cluster-ips` set and the verdict maps the per-Service elements go into (flushed here and
refilled by the sync). The first sync of a process also deletes and re-creates the base chains,
so a changed priority can never make the transaction fail.
"""

from __future__ import annotations

from nodelab.proxy.model import ProxyNode

TABLE = "kube-proxy"
FAMILY = "ip"
T = f"{FAMILY} {TABLE}"

BASE_CHAINS = (
    ("filter-prerouting", "filter", "prerouting", -110),
    ("filter-input", "filter", "input", -110),
    ("filter-forward", "filter", "forward", -110),
    ("filter-output", "filter", "output", -110),
    ("filter-output-post-dnat", "filter", "output", -90),
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
)
JUMP_CHAINS = (
    ("nodeport-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-input", "ct state new"),
    ("service-endpoints-check", "filter-forward", "ct state new"),
    ("service-endpoints-check", "filter-output", "ct state new"),
    ("firewall-check", "filter-prerouting", "ct state new"),
    ("firewall-check", "filter-output", "ct state new"),
    ("services", "nat-output", ""),
    ("services", "nat-prerouting", ""),
    ("masquerading", "nat-postrouting", ""),
    ("cluster-ips-check", "filter-forward", "ct state new"),
    ("cluster-ips-check", "filter-output-post-dnat", "ct state new"),
)
ELEMENT_CONTAINERS = (
    "cluster-ips",
    "service-ips",
    "firewall-ips",
    "no-endpoint-services",
    "no-endpoint-nodeports",
    "service-nodeports",
)
MARK_MASQ = "mark-for-masquerade"


def skeleton(node: ProxyNode, first: bool) -> list[str]:
    mark = node.masquerade_mark
    out = [f'add table {T} {{ comment "rules for kube-proxy" ; }}']
    if first:
        for name, *_ in BASE_CHAINS:
            out += [f"add chain {T} {name}", f"delete chain {T} {name}"]
    for name, ctype, hook, prio in BASE_CHAINS:
        out += [
            f"add chain {T} {name} {{ type {ctype} hook {hook} priority {prio} ; }}",
            f"flush chain {T} {name}",
        ]
    created: list[str] = []
    for dst, src, extra in JUMP_CHAINS:
        if dst not in created:
            created.append(dst)
            out += [f"add chain {T} {dst}", f"flush chain {T} {dst}"]
        out.append(f"add rule {T} {src} {extra + ' ' if extra else ''}jump {dst}")
    for chain in ("services", "cluster-ips-check", "masquerading", MARK_MASQ):
        if chain not in created:
            created.append(chain)
            out += [f"add chain {T} {chain}", f"flush chain {T} {chain}"]
    out += [
        f"add rule {T} {MARK_MASQ} mark set mark or {mark}",
        f"add rule {T} masquerading mark and {mark} == 0 return",
        f"add rule {T} masquerading mark set mark xor {mark}",
        f"add rule {T} masquerading masquerade fully-random",
        f'add set {T} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}',
        f"add rule {T} cluster-ips-check ip daddr @cluster-ips reject "
        'comment "Reject traffic to invalid ports of ClusterIPs"',
    ]
    if node.service_cidr:
        out.append(
            f"add rule {T} cluster-ips-check ip daddr {{ {node.service_cidr} }} drop "
            'comment "Drop traffic to unallocated ClusterIPs"'
        )
    out += [
        f'add set {T} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort '
        'traffic" ; }',
        f"delete set {T} nodeport-ips",
        f"add map {T} no-endpoint-services {{ type ipv4_addr . inet_proto . inet_service : "
        'verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }',
        f"add map {T} no-endpoint-nodeports {{ type inet_proto . inet_service : verdict ; "
        'comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }',
        f'add chain {T} reject-chain {{ comment "helper for @no-endpoint-services / '
        '@no-endpoint-nodeports" ; }',
        f"flush chain {T} reject-chain",
        f"add rule {T} reject-chain reject",
        f"add rule {T} service-endpoints-check ip daddr . meta l4proto . th dport "
        "vmap @no-endpoint-services",
        f"add rule {T} nodeport-endpoints-check ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport vmap @no-endpoint-nodeports",
        f"add map {T} firewall-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; "
        'comment "destinations that are subject to LoadBalancerSourceRanges" ; }',
        f"add rule {T} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
        f"add map {T} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict ; "
        'comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }',
        f"add map {T} service-nodeports {{ type inet_proto . inet_service : verdict ; "
        'comment "NodePort traffic" ; }',
        f"add rule {T} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {T} services fib daddr type local ip daddr != 127.0.0.0/8 "
        "meta l4proto . th dport vmap @service-nodeports",
    ]
    out += [f"flush {'set' if c == 'cluster-ips' else 'map'} {T} {c}" for c in ELEMENT_CONTAINERS]
    return out
