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
does). With `previous=None` it is a *full* sync: every chain is written, and `existing_chains`
(read from `iptables-save` by the apply layer) lets it delete leftovers of earlier runs. Chains
that a sync no longer uses are flushed and deleted (`-X`).

The jump rules from the built-in chains (`-A PREROUTING -j KUBE-SERVICES`, ...) cannot be in a
noflush restore without rewriting those built-in chains, so they are listed apart in `jumps`;
the apply layer ensures each with `iptables -C || iptables -I`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import (
    EXT_PREFIX,
    SVL_PREFIX,
    endpoint_chain,
    is_iptables_service_chain,
    service_chain,
)
from nodelab.proxy.iptables_chains import (
    FILTER_TOP_CHAINS,
    JUMP_RULES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FIREWALL,
    KUBE_FORWARD,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_POSTROUTING,
    KUBE_SERVICES,
    KUBELET_JUMP_RULES,
    NAT_TOP_CHAINS,
    JumpRule,
)
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)

LARGE_CLUSTER_ENDPOINTS = 1000
"""Above this many endpoints in total, per-endpoint comments are left out (upstream's
largeClusterMode): they would make the payload 40% bigger for nothing a machine reads."""


@dataclass(frozen=True)
class ServiceBlock:
    """The nat chains and rules owned by one Service (all its ports)."""

    chains: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class IptablesPlan:
    """One sync's payload for `iptables-restore --noflush`, and what the next sync needs."""

    payload: str
    full: bool
    jumps: tuple[JumpRule, ...]
    blocks: Mapping[tuple[str, str], ServiceBlock]
    active_nat_chains: frozenset[str]
    written_services: tuple[tuple[str, str], ...]
    deleted_chains: tuple[str, ...]
    rules_total: int
    rules_written: int
    route_localnet: bool = False
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def probability(n: int) -> str:
    """Upstream `computeProbability`: `%0.10f` of 1/n."""
    return f"{1.0 / n:0.10f}"


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"' if " " in text else f"-m comment --comment {text}"


@dataclass
class _Writer:
    """Rule lines of one sync: top-level ones, and the chains/rules of the current Service."""

    node: ProxyNode
    large: bool = False
    filter_rules: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def svc_comment(self, text: str) -> str:
        return "" if self.large else _comment(text) + " "

    def service_port(self, svc: ServicePort, endpoints: tuple[Endpoint, ...]) -> None:
        node, proto, name = self.node, svc.protocol, str(svc.name)
        cats = categorize_endpoints(endpoints, svc)
        cluster_chain = service_chain(svc.name)
        local_chain = service_chain(svc.name, SVL_PREFIX)
        ext_chain = service_chain(svc.name, EXT_PREFIX)
        uses_cluster = bool(cats.cluster) and svc.uses_cluster_endpoints
        uses_local = bool(cats.local) and svc.uses_local_endpoints
        internal_chain, has_internal = cluster_chain, cats.has_endpoints
        if svc.internal_policy_local:
            internal_chain, has_internal = local_chain, bool(cats.local) and cats.has_endpoints
        external_chain, has_external = cluster_chain, cats.has_endpoints
        if svc.external_policy_local:
            external_chain, has_external = local_chain, bool(cats.local) and cats.has_endpoints
        uses_ext = cats.has_endpoints and svc.externally_accessible
        if not cats.has_endpoints:
            verdict, why = "REJECT", f"{name} has no endpoints"
        else:
            verdict, why = "DROP", f"{name} has no local endpoints"

        match = f"-m {proto} -p {proto}"
        vip = f"{match} -d {svc.cluster_ip} --dport {svc.port}"
        if has_internal:
            self.nat_rules.append(
                f"-A {KUBE_SERVICES} {_comment(name + ' cluster IP')} {vip} -j {internal_chain}"
            )
        else:
            self.filter_rules.append(f"-A {KUBE_SERVICES} {_comment(why)} {vip} -j {verdict}")
        for ip in svc.external_ips:
            eip = f"{match} -d {ip} --dport {svc.port}"
            if cats.has_endpoints:
                self.nat_rules.append(
                    f"-A {KUBE_SERVICES} {_comment(name + ' external IP')} {eip} -j {ext_chain}"
                )
            if not has_external:
                self.filter_rules.append(
                    f"-A {KUBE_EXTERNAL_SERVICES} {_comment(why)} {eip} -j {verdict}"
                )
        if svc.node_port:
            nport = f"{match} --dport {svc.node_port}"
            if cats.has_endpoints:
                self.nat_rules.append(
                    f"-A {KUBE_NODEPORTS} {_comment(name)} {nport} -j {ext_chain}"
                )
            if not has_external:
                self.filter_rules.append(
                    f"-A {KUBE_EXTERNAL_SERVICES} {_comment(why)} -m addrtype --dst-type LOCAL "
                    f"{nport} -j {verdict}"
                )
        if svc.health_check_node_port:
            self.filter_rules.append(
                f"-A {KUBE_NODEPORTS} {_comment(name + ' health check node port')} -m tcp -p tcp "
                f"--dport {svc.health_check_node_port} -j ACCEPT"
            )

        if has_internal:
            head = f"-A {internal_chain} {_comment(name + ' cluster IP')} {vip}"
            if node.masquerade_all:
                self.rules.append(f"{head} -j {KUBE_MARK_MASQ}")
            elif node.cluster_cidr:
                self.rules.append(f"{head} ! -s {node.cluster_cidr} -j {KUBE_MARK_MASQ}")
        if uses_ext:
            self.chains.append(ext_chain)
            self._external(svc, ext_chain, cluster_chain, external_chain, has_external)
        if uses_cluster:
            self.chains.append(cluster_chain)
            self._balance(svc, cluster_chain, cats.cluster)
        if uses_local:
            self.chains.append(local_chain)
            self._balance(svc, local_chain, cats.local)
        for ep in cats.reachable:
            sep = endpoint_chain(svc.name, ep)
            self.chains.append(sep)
            head = f"-A {sep} {self.svc_comment(name)}"
            self.rules.append(f"{head}-s {ep.ip} -j {KUBE_MARK_MASQ}")
            recent = f"-m recent --name {sep} --set " if svc.affinity_client_ip else ""
            self.rules.append(f"{head}{recent}{match} -j DNAT --to-destination {ep}")

    def _external(
        self, svc: ServicePort, ext: str, cluster: str, policy: str, has_external: bool
    ) -> None:
        name = str(svc.name)
        if not svc.external_policy_local:
            what = f"masquerade traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {_comment(what)} -j {KUBE_MARK_MASQ}")
        else:
            if self.node.cluster_cidr:
                what = f"pod traffic for {name} external destinations"
                self.rules.append(
                    f"-A {ext} {_comment(what)} -s {self.node.cluster_cidr} -j {cluster}"
                )
            local = "-m addrtype --src-type LOCAL"
            what = f"masquerade LOCAL traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {_comment(what)} {local} -j {KUBE_MARK_MASQ}")
            what = f"route LOCAL traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {_comment(what)} {local} -j {cluster}")
        if has_external:
            self.rules.append(f"-A {ext} -j {policy}")

    def _balance(self, svc: ServicePort, chain: str, endpoints: tuple[Endpoint, ...]) -> None:
        name = str(svc.name)
        if svc.affinity_client_ip:
            for ep in endpoints:
                sep = endpoint_chain(svc.name, ep)
                self.rules.append(
                    f"-A {chain} {self.svc_comment(f'{name} -> {ep}')}-m recent --name {sep} "
                    f"--rcheck --seconds {svc.sticky_seconds} --reap -j {sep}"
                )
        n = len(endpoints)
        for i, ep in enumerate(endpoints):
            stat = ""
            if i < n - 1:
                stat = f"-m statistic --mode random --probability {probability(n - i)} "
            sep = endpoint_chain(svc.name, ep)
            self.rules.append(f"-A {chain} {self.svc_comment(f'{name} -> {ep}')}{stat}-j {sep}")


def _fixed_rules(node: ProxyNode) -> tuple[list[str], list[str], list[str]]:
    """(filter rules before services, nat rules before services, KUBE-FORWARD rules)."""
    mark = node.masquerade_mark
    nat = [
        f"-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN",
        f"-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}",
        f"-A {KUBE_POSTROUTING} {_comment('kubernetes service traffic requiring SNAT')} "
        "-j MASQUERADE --random-fully",
        f"-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}",
    ]
    filt = []
    if node.localhost_nodeports:
        filt.append(
            f"-A {KUBE_FIREWALL} {_comment('block incoming localnet connections')} "
            "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT "
            "-j DROP"
        )
    forward = []
    if not node.conntrack_tcp_liberal:
        forward.append(f"-A {KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP")
    forward += [
        f"-A {KUBE_FORWARD} {_comment('kubernetes forwarding rules')} "
        f"-m mark --mark {mark}/{mark} -j ACCEPT",
        f"-A {KUBE_FORWARD} {_comment('kubernetes forwarding conntrack rule')} "
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    return filt, nat, forward


def render_iptables(
    state: ProxyState,
    node: ProxyNode,
    previous: IptablesPlan | None = None,
    *,
    full: bool | None = None,
    existing_chains: frozenset[str] = frozenset(),
) -> IptablesPlan:
    """The iptables-restore payload for `state` on `node`.

    Partial if `previous` is given (unless `full=True`, the periodic full resync);
    `existing_chains`, read from `iptables-save -t nat`, lets a full sync delete leftovers.
    """
    if full is None:
        full = previous is None
    ports = build_service_ports(state)
    endpoints_map = build_endpoints_map(state, node.name)
    large = sum(len(endpoints_map.get(name, ())) for name in ports) > LARGE_CLUSTER_ENDPOINTS
    out = _Writer(node, large)
    filter_head, nat_head, forward = _fixed_rules(node)
    out.filter_rules += filter_head
    out.nat_rules += nat_head

    blocks: dict[tuple[str, str], ServiceBlock] = {}
    written: list[tuple[str, str]] = []
    nat_chains = list(NAT_TOP_CHAINS)
    service_rules: list[str] = []
    for sp_name in sorted(ports):
        key = sp_name.service
        if key not in blocks:
            out.chains, out.rules = [], []
        out.service_port(ports[sp_name], endpoints_map.get(sp_name, ()))
        blocks[key] = ServiceBlock(tuple(out.chains), tuple(out.rules))
    for key, block in blocks.items():
        if full or previous is None or previous.blocks.get(key) != block:
            written.append(key)
            nat_chains += block.chains
            service_rules += block.rules

    active = frozenset(c for b in blocks.values() for c in b.chains)
    known = set(existing_chains) | (set(previous.active_nat_chains) if previous else set())
    stale = sorted(c for c in known - active if is_iptables_service_chain(c))
    nat_chains += stale
    local = "-m addrtype --dst-type LOCAL"
    if not node.localhost_nodeports:
        local += " ! -d 127.0.0.0/8"
    last = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
    nat_tail = [f"-A {KUBE_SERVICES} {_comment(last)} {local} -j {KUBE_NODEPORTS}"]

    filter_rules = out.filter_rules + forward
    nat_rules = out.nat_rules + service_rules + [f"-X {c}" for c in stale] + nat_tail
    filter_chains = list(FILTER_TOP_CHAINS) + ([KUBE_FIREWALL] if node.localhost_nodeports else [])
    lines = ["*filter"]
    lines += [f":{c} - [0:0]" for c in filter_chains]
    lines += filter_rules
    lines += ["COMMIT", "*nat"]
    lines += [f":{c} - [0:0]" for c in nat_chains]
    lines += nat_rules
    lines.append("COMMIT")

    all_service_rules = sum(len(b.rules) for b in blocks.values())
    rules_total = len(filter_rules) + len(out.nat_rules) + all_service_rules + len(nat_tail)
    jumps = JUMP_RULES + (KUBELET_JUMP_RULES if node.localhost_nodeports else ())
    return IptablesPlan(
        payload="\n".join(lines) + "\n",
        full=full,
        jumps=jumps if full else (),
        blocks=blocks,
        active_nat_chains=active,
        written_services=tuple(written),
        deleted_chains=tuple(stale),
        rules_total=rules_total,
        rules_written=len(filter_rules) + len(nat_rules) - len(stale),
        route_localnet=node.localhost_nodeports,
        endpoints={str(k): tuple(str(e) for e in v) for k, v in endpoints_map.items()},
    )
