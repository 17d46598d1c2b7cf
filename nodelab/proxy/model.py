"""The typed input of kube-proxy: Services, EndpointSlices and the node the proxy runs on.

kube-proxy reads two kinds of API objects and nothing else about the cluster: Services (the
virtual IPs and ports) and EndpointSlices (the pods behind them, with their readiness). This
module holds them as small frozen dataclasses, reduced to the fields kube-proxy uses, so the
renderers (`render_iptables`, `render_nftables`) are pure functions of plain data and tests can
write a Service in one line. `nodelab.proxy.objects` builds them from the official client's
`V1Service` / `V1EndpointSlice` or from the API's JSON dicts.

`ProxyState` is everything the proxy knows at one instant (all Services and EndpointSlices,
keyed by namespace/name); `ProxyNode` is the per-node configuration (node name, cluster CIDR
for the local-traffic detector, masquerade bit, ...). Defaults are upstream's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_STICKY_SECONDS = 10800
"""`sessionAffinityConfig.clientIP.timeoutSeconds` when unset (3 hours), as upstream."""


@dataclass(frozen=True)
class ServicePortSpec:
    """One entry of `spec.ports` of a Service."""

    port: int
    protocol: str = "TCP"
    name: str = ""
    node_port: int = 0
    target_port: int | str | None = None


@dataclass(frozen=True)
class Service:
    """The fields of a v1 Service that kube-proxy uses."""

    namespace: str
    name: str
    cluster_ip: str
    ports: tuple[ServicePortSpec, ...]
    type: str = "ClusterIP"
    session_affinity: str = "None"
    sticky_seconds: int = DEFAULT_STICKY_SECONDS
    internal_traffic_policy: str = "Cluster"
    external_traffic_policy: str = "Cluster"
    external_ips: tuple[str, ...] = ()
    health_check_node_port: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True)
class SlicePort:
    """One entry of `ports` of an EndpointSlice (the target port, named like the Service's)."""

    port: int
    name: str = ""
    protocol: str = "TCP"


@dataclass(frozen=True)
class SliceEndpoint:
    """One entry of `endpoints` of an EndpointSlice.

    `ready`, `serving` and `terminating` are the three conditions. The API leaves them unset
    to mean ready=true, serving=ready, terminating=false; the converters apply those defaults.
    """

    addresses: tuple[str, ...]
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class EndpointSlice:
    """The fields of a discovery/v1 EndpointSlice that kube-proxy uses."""

    namespace: str
    name: str
    service_name: str
    endpoints: tuple[SliceEndpoint, ...]
    ports: tuple[SlicePort, ...]
    address_type: str = "IPv4"

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)


@dataclass(frozen=True)
class ProxyState:
    """All Services and EndpointSlices the proxy has seen, keyed by (namespace, name)."""

    services: Mapping[tuple[str, str], Service] = field(default_factory=dict)
    slices: Mapping[tuple[str, str], EndpointSlice] = field(default_factory=dict)

    @classmethod
    def of(
        cls, services: Iterable[Service] = (), slices: Iterable[EndpointSlice] = ()
    ) -> ProxyState:
        return cls({s.key: s for s in services}, {s.key: s for s in slices})


@dataclass(frozen=True)
class ProxyNode:
    """Per-node proxy settings. Defaults follow upstream kube-proxy's defaults.

    `cluster_cidr` drives the local-traffic detector (`--detect-local-mode=ClusterCIDR`):
    traffic to a ClusterIP from outside it is masqueraded. None means no detector, as upstream
    when no cluster CIDR is given. `localhost_nodeports` (iptables mode only) makes NodePorts
    answer on 127.0.0.1 and sets `route_localnet` in the node's namespace.
    """

    name: str
    cluster_cidr: str | None = "10.244.0.0/16"
    service_cidr: str | None = "10.96.0.0/16"
    masquerade_bit: int = 14
    masquerade_all: bool = False
    localhost_nodeports: bool = True
    conntrack_tcp_liberal: bool = False

    @property
    def masquerade_mark(self) -> str:
        """The mark as kube-proxy formats it (Go `%#08x`): bit 14 is `0x004000`."""
        return f"{1 << self.masquerade_bit:#08x}"
