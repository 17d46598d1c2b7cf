"""One Service's share of the iptables-mode rules, rendered on its own and kept between syncs.

A Service contributes two kinds of lines. Its own nat chains (KUBE-SVC-, KUBE-SVL-, KUBE-EXT-,
KUBE-SEP- per service port) are written only when the Service changed (a partial sync, as
upstream). Its lines in the shared chains (the ClusterIP match in nat KUBE-SERVICES, its
NodePort in KUBE-NODEPORTS, REJECT/DROP lines in the filter chains) are written on every sync,
because a `:CHAIN` line in the restore flushes the whole shared chain. `render_service` returns
both, with what they were rendered from, so the plan can reuse the block while the Service and
its EndpointSlices stay the same; the rule text follows upstream's `syncProxyRules` (see
`iptables.plan`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import EXT_PREFIX, SVL_PREFIX, endpoint_chain, service_chain
from nodelab.proxy.changes import ServiceInputs
from nodelab.proxy.iptables.chains import (
    KUBE_EXTERNAL_SERVICES,
    KUBE_MARK_MASQ,
    KUBE_NODEPORTS,
    KUBE_SERVICES,
)
from nodelab.proxy.model import ProxyNode
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    ServicePortName,
    categorize_endpoints,
    endpoints_of,
    routing,
    service_ports_of,
)


@dataclass(frozen=True)
class ServiceBlock:
    """The rules owned by one Service (all its ports), and what they were rendered from.

    `chains`/`rules`: its own nat chains and their rules. `filter_rules`/`nat_rules`: its
    lines in the shared chains. `large`: whether upstream's large-cluster mode (no
    per-endpoint comments) was on.
    """

    chains: tuple[str, ...]
    rules: tuple[str, ...]
    filter_rules: tuple[str, ...] = ()
    nat_rules: tuple[str, ...] = ()
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    endpoint_count: int = 0
    large: bool = False
    inputs: ServiceInputs | None = None


@dataclass(frozen=True)
class ServiceEndpoints:
    """A Service's ports (sorted) and the endpoints of each, before rendering."""

    ports: tuple[ServicePort, ...]
    endpoints: Mapping[ServicePortName, tuple[Endpoint, ...]]

    @property
    def count(self) -> int:
        """Upstream's count for large-cluster mode: every endpoint of every service port."""
        return sum(len(self.endpoints.get(p.name, ())) for p in self.ports)


def service_endpoints(inputs: ServiceInputs, node_name: str) -> ServiceEndpoints:
    ports = {sp.name: sp for sp in service_ports_of(inputs.service)}
    return ServiceEndpoints(
        tuple(ports[name] for name in sorted(ports)), endpoints_of(inputs.slices, node_name)
    )


def render_service(
    inputs: ServiceInputs, found: ServiceEndpoints, node: ProxyNode, large: bool
) -> ServiceBlock:
    """Every line one Service contributes (pure)."""
    out = _Writer(node, large)
    for port in found.ports:
        out.service_port(port, found.endpoints.get(port.name, ()))
    return ServiceBlock(
        tuple(out.chains),
        tuple(out.rules),
        tuple(out.filter_rules),
        tuple(out.nat_rules),
        {str(p.name): tuple(str(e) for e in found.endpoints.get(p.name, ())) for p in found.ports
         if p.name in found.endpoints},
        found.count,
        large,
        inputs,
    )


def probability(n: int) -> str:
    """Upstream `computeProbability`: `%0.10f` of 1/n."""
    return f"{1.0 / n:0.10f}"


def comment(text: str) -> str:
    """`-m comment --comment ...`, quoted when the text has spaces (as iptables-save prints it)."""
    return f'-m comment --comment "{text}"' if " " in text else f"-m comment --comment {text}"


@dataclass
class _Writer:
    """The lines of one Service, port by port: shared-chain lines, its chains and their rules."""

    node: ProxyNode
    large: bool = False
    filter_rules: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def svccomment(self, text: str) -> str:
        return "" if self.large else comment(text) + " "

    def service_port(self, svc: ServicePort, endpoints: tuple[Endpoint, ...]) -> None:
        node, proto, name = self.node, svc.protocol, str(svc.name)
        cats = categorize_endpoints(endpoints, svc)
        cluster_chain = service_chain(svc.name)
        local_chain = service_chain(svc.name, SVL_PREFIX)
        ext_chain = service_chain(svc.name, EXT_PREFIX)
        route = routing(svc, cats)
        internal_chain = local_chain if route.internal_local else cluster_chain
        external_chain = local_chain if route.external_local else cluster_chain
        if not cats.has_endpoints:
            verdict, why = "REJECT", f"{name} has no endpoints"
        else:
            verdict, why = "DROP", f"{name} has no local endpoints"

        match = f"-m {proto} -p {proto}"
        vip = f"{match} -d {svc.cluster_ip} --dport {svc.port}"
        if route.has_internal:
            self.nat_rules.append(
                f"-A {KUBE_SERVICES} {comment(name + ' cluster IP')} {vip} -j {internal_chain}"
            )
        else:
            self.filter_rules.append(f"-A {KUBE_SERVICES} {comment(why)} {vip} -j {verdict}")
        for ip in svc.external_ips:
            eip = f"{match} -d {ip} --dport {svc.port}"
            if cats.has_endpoints:
                self.nat_rules.append(
                    f"-A {KUBE_SERVICES} {comment(name + ' external IP')} {eip} -j {ext_chain}"
                )
            if not route.has_external:
                self.filter_rules.append(
                    f"-A {KUBE_EXTERNAL_SERVICES} {comment(why)} {eip} -j {verdict}"
                )
        if svc.node_port:
            nport = f"{match} --dport {svc.node_port}"
            if cats.has_endpoints:
                self.nat_rules.append(
                    f"-A {KUBE_NODEPORTS} {comment(name)} {nport} -j {ext_chain}"
                )
            if not route.has_external:
                self.filter_rules.append(
                    f"-A {KUBE_EXTERNAL_SERVICES} {comment(why)} -m addrtype --dst-type LOCAL "
                    f"{nport} -j {verdict}"
                )
        if svc.health_check_node_port:
            self.filter_rules.append(
                f"-A {KUBE_NODEPORTS} {comment(name + ' health check node port')} -m tcp -p tcp "
                f"--dport {svc.health_check_node_port} -j ACCEPT"
            )

        if route.has_internal:
            head = f"-A {internal_chain} {comment(name + ' cluster IP')} {vip}"
            if node.masquerade_all:
                self.rules.append(f"{head} -j {KUBE_MARK_MASQ}")
            elif node.cluster_cidr:
                self.rules.append(f"{head} ! -s {node.cluster_cidr} -j {KUBE_MARK_MASQ}")
        if route.uses_external:
            self.chains.append(ext_chain)
            self._external(svc, ext_chain, cluster_chain, external_chain, route.has_external)
        if route.uses_cluster:
            self.chains.append(cluster_chain)
            self._balance(svc, cluster_chain, cats.cluster)
        if route.uses_local:
            self.chains.append(local_chain)
            self._balance(svc, local_chain, cats.local)
        for ep in cats.reachable:
            sep = endpoint_chain(svc.name, ep)
            self.chains.append(sep)
            head = f"-A {sep} {self.svccomment(name)}"
            self.rules.append(f"{head}-s {ep.ip} -j {KUBE_MARK_MASQ}")
            recent = f"-m recent --name {sep} --set " if svc.affinity_client_ip else ""
            self.rules.append(f"{head}{recent}{match} -j DNAT --to-destination {ep}")

    def _external(
        self, svc: ServicePort, ext: str, cluster: str, policy: str, has_external: bool
    ) -> None:
        name = str(svc.name)
        if not svc.external_policy_local:
            what = f"masquerade traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {comment(what)} -j {KUBE_MARK_MASQ}")
        else:
            if self.node.cluster_cidr:
                what = f"pod traffic for {name} external destinations"
                self.rules.append(
                    f"-A {ext} {comment(what)} -s {self.node.cluster_cidr} -j {cluster}"
                )
            local = "-m addrtype --src-type LOCAL"
            what = f"masquerade LOCAL traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {comment(what)} {local} -j {KUBE_MARK_MASQ}")
            what = f"route LOCAL traffic for {name} external destinations"
            self.rules.append(f"-A {ext} {comment(what)} {local} -j {cluster}")
        if has_external:
            self.rules.append(f"-A {ext} -j {policy}")

    def _balance(self, svc: ServicePort, chain: str, endpoints: tuple[Endpoint, ...]) -> None:
        name = str(svc.name)
        if svc.affinity_client_ip:
            for ep in endpoints:
                sep = endpoint_chain(svc.name, ep)
                self.rules.append(
                    f"-A {chain} {self.svccomment(f'{name} -> {ep}')}-m recent --name {sep} "
                    f"--rcheck --seconds {svc.sticky_seconds} --reap -j {sep}"
                )
        n = len(endpoints)
        for i, ep in enumerate(endpoints):
            stat = ""
            if i < n - 1:
                stat = f"-m statistic --mode random --probability {probability(n - i)} "
            sep = endpoint_chain(svc.name, ep)
            self.rules.append(f"-A {chain} {self.svccomment(f'{name} -> {ep}')}{stat}-j {sep}")
