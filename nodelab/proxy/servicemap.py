"""From Services and EndpointSlices to what the rules are made of: service ports and endpoints.

kube-proxy does not program Services, it programs *service ports*: one per entry of
`spec.ports`, named `namespace/name:portName` (`ServicePortName`, the string that is hashed into
chain names). Each service port gets the endpoints of the Service's EndpointSlices whose port
has the same name, as `ip:port` strings, deduplicated and sorted (upstream sorts them the same
way, so rule order is stable).

`categorize_endpoints` is upstream's `CategorizeEndpoints`: it decides which endpoints the
Cluster policy chain and the Local policy chain use:

- only *ready* endpoints; if a policy has none, it falls back to endpoints that are *serving and
  terminating* (a rolling update's last pods keep answering rather than the Service failing);
- Local policy (internalTrafficPolicy or externalTrafficPolicy `Local`) keeps only endpoints on
  this node;
- `has_endpoints` is whether any usable endpoint exists anywhere in the cluster: a service port
  without one is REJECTed at once, one with endpoints elsewhere but none local is DROPped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nodelab.proxy.model import EndpointSlice, ProxyState, Service


@dataclass(frozen=True, order=True)
class ServicePortName:
    """`namespace/name:port` (upstream's `proxy.ServicePortName`), plus its protocol."""

    namespace: str
    name: str
    port: str
    protocol: str = "TCP"

    def __str__(self) -> str:
        suffix = f":{self.port}" if self.port else ""
        return f"{self.namespace}/{self.name}{suffix}"

    @property
    def service(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service, as the rules see it."""

    name: ServicePortName
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    affinity_client_ip: bool = False
    sticky_seconds: int = 10800
    internal_policy_local: bool = False
    external_policy_local: bool = False
    health_check_node_port: int = 0

    @property
    def protocol(self) -> str:
        """Lowercase protocol, as it appears in rules and hashes."""
        return self.name.protocol.lower()

    @property
    def externally_accessible(self) -> bool:
        return self.node_port != 0 or bool(self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        # External traffic always needs the Cluster chain (for short-circuiting local sources).
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or (
            self.external_policy_local and self.externally_accessible
        )


@dataclass(frozen=True, order=True)
class Endpoint:
    """One backend of a service port: `ip:port` with its conditions."""

    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    is_local: bool = False

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class EndpointCategories:
    cluster: tuple[Endpoint, ...]
    local: tuple[Endpoint, ...]
    reachable: tuple[Endpoint, ...]
    has_endpoints: bool


@dataclass(frozen=True)
class Routing:
    """Which of a service port's chains are written and where its traffic goes, as upstream's
    syncProxyRules decides it in both modes: the cluster chain, the local chain (a Local
    traffic policy) and the external chain; internal and external traffic each go to the
    cluster or the local chain, and have somewhere to go or are rejected/dropped."""

    uses_cluster: bool
    uses_local: bool
    uses_external: bool
    internal_local: bool
    has_internal: bool
    external_local: bool
    has_external: bool


def routing(svc: ServicePort, cats: EndpointCategories) -> Routing:
    local_endpoints = bool(cats.local) and cats.has_endpoints
    return Routing(
        uses_cluster=bool(cats.cluster) and svc.uses_cluster_endpoints,
        uses_local=bool(cats.local) and svc.uses_local_endpoints,
        uses_external=cats.has_endpoints and svc.externally_accessible,
        internal_local=svc.internal_policy_local,
        has_internal=local_endpoints if svc.internal_policy_local else cats.has_endpoints,
        external_local=svc.external_policy_local,
        has_external=local_endpoints if svc.external_policy_local else cats.has_endpoints)


def service_ports_of(service: Service) -> list[ServicePort]:
    external_local = service.external_traffic_policy == "Local"
    return [
        ServicePort(
            name=ServicePortName(service.namespace, service.name, spec.name, spec.protocol),
            cluster_ip=service.cluster_ip,
            port=spec.port,
            node_port=spec.node_port,
            external_ips=service.external_ips,
            affinity_client_ip=service.session_affinity == "ClientIP",
            sticky_seconds=service.sticky_seconds,
            internal_policy_local=service.internal_traffic_policy == "Local",
            external_policy_local=external_local
            and (spec.node_port != 0 or bool(service.external_ips)),
            health_check_node_port=service.health_check_node_port if external_local else 0,
        )
        for spec in service.ports
        if ":" not in service.cluster_ip
    ]


def build_service_ports(state: ProxyState) -> dict[ServicePortName, ServicePort]:
    """Every IPv4 service port of every Service, keyed by name."""
    ports: dict[ServicePortName, ServicePort] = {}
    for service in state.services.values():
        for sp in service_ports_of(service):
            ports[sp.name] = sp
    return ports


def build_endpoints_map(
    state: ProxyState, node_name: str
) -> dict[ServicePortName, tuple[Endpoint, ...]]:
    """The endpoints of each service port, from all IPv4 EndpointSlices, sorted by `ip:port`."""
    return endpoints_of(state.slices.values(), node_name)


def endpoints_of(
    slices: Iterable[EndpointSlice], node_name: str
) -> dict[ServicePortName, tuple[Endpoint, ...]]:
    """The endpoints of each service port named by `slices` (IPv4 only), sorted by `ip:port`."""
    found: dict[ServicePortName, dict[str, Endpoint]] = {}
    for eps in slices:
        if eps.address_type != "IPv4":
            continue
        for port in eps.ports:
            name = ServicePortName(eps.namespace, eps.service_name, port.name, port.protocol)
            bucket = found.setdefault(name, {})
            for ep in eps.endpoints:
                if not ep.addresses:
                    continue
                endpoint = Endpoint(
                    ip=ep.addresses[0],
                    port=port.port,
                    ready=ep.ready,
                    serving=ep.serving,
                    terminating=ep.terminating,
                    is_local=ep.node_name == node_name,
                )
                # A duplicate (the same pod listed by two slices mid-update) keeps the first.
                bucket.setdefault(str(endpoint), endpoint)
    return {
        name: tuple(sorted(bucket.values(), key=str)) for name, bucket in found.items() if bucket
    }


def categorize_endpoints(endpoints: tuple[Endpoint, ...], svc: ServicePort) -> EndpointCategories:
    """Upstream's CategorizeEndpoints (without topology hints)."""
    cluster: tuple[Endpoint, ...] = ()
    has_endpoints = False
    if svc.uses_cluster_endpoints:
        cluster = tuple(ep for ep in endpoints if ep.ready)
        if not cluster:
            cluster = tuple(ep for ep in endpoints if ep.serving and ep.terminating)
        has_endpoints = bool(cluster)
    if not svc.uses_local_endpoints:
        return EndpointCategories(cluster, (), cluster, has_endpoints)

    local_ready = local_terminating = False
    for ep in endpoints:
        if ep.ready:
            has_endpoints = True
            local_ready = local_ready or ep.is_local
        elif ep.serving and ep.terminating:
            has_endpoints = True
            local_terminating = local_terminating or ep.is_local
    local: tuple[Endpoint, ...] = ()
    if local_ready:
        local = tuple(ep for ep in endpoints if ep.is_local and ep.ready)
    elif local_terminating:
        local = tuple(ep for ep in endpoints if ep.is_local and ep.serving and ep.terminating)
    if not svc.uses_cluster_endpoints:
        return EndpointCategories((), local, local, has_endpoints)
    seen = {str(ep) for ep in cluster}
    reachable = cluster + tuple(ep for ep in local if str(ep) not in seen)
    return EndpointCategories(cluster, local, reachable, has_endpoints)
