"""The IPVS-mode plan: virtual servers, real servers, kube-ipvs0's addresses, ipsets, iptables.

`render_ipvs(state, node, node_addresses)` is a pure function following upstream's
`syncProxyRules` in pkg/proxy/ipvs/proxier.go. For every service port:

- a **virtual server** on `ClusterIP:port`, and one on each external IP, and (for a NodePort)
  one on `<node address>:nodePort` for each of the node's addresses (upstream's default
  `--nodeport-addresses` matches every local address except kube-ipvs0's, loopback included);
  the scheduler is `rr` unless another is asked for; ClientIP session affinity sets the
  `persistent` flag with the sticky timeout; `mh` sets the source-hash flag;
- its **real servers** are the endpoints as upstream's `syncEndpoint` picks them
  (`CategorizeEndpoints`: the ready ones, else the serving-and-terminating ones), each with
  weight 1. A virtual server whose policy is Local (internalTrafficPolicy for the ClusterIP,
  externalTrafficPolicy for NodePorts and external IPs) gets the node's local endpoints, and
  when there are none the cluster's (upstream PR 97081: a pod on this node can still reach the
  Service). A virtual server without endpoints has no real servers: IPVS drops what reaches it.
- ClusterIPs and external IPs that are not already the node's are **bound to the dummy
  interface kube-ipvs0**, so the kernel takes packets to them as local and IPVS (on the INPUT
  hook) sees them. NodePort virtual servers use the node's own addresses and bind nothing.

The **ipsets** and the fixed **iptables rules** that match them are in `ipvs.sets` and
`ipvs.rules`. With `previous`, real servers that left are listed as *draining* (upstream's
graceful termination sets their weight to 0 and deletes them when their connections end).

Load balancer ingress IPs and loadBalancerSourceRanges are not in nodelab's Service model, so
the KUBE-LOAD-BALANCER* sets stay empty (as on a cluster without a load balancer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nodelab.proxy.iptables.chains import JumpRule
from nodelab.proxy.ipvs.rules import JUMP_RULES, restore_payload
from nodelab.proxy.ipvs.sets import (
    KUBE_CLUSTER_IP,
    KUBE_EXTERNAL_IP,
    KUBE_EXTERNAL_IP_LOCAL,
    KUBE_HEALTH_CHECK_NODE_PORT,
    KUBE_IPVS_IPS,
    KUBE_LOOP_BACK,
    NODE_PORT_SETS,
    Ipset,
    build_sets,
    ip_port,
    ip_port_ip,
    restore_script,
)
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)

DUMMY_DEVICE = "kube-ipvs0"
DEFAULT_SCHEDULER = "rr"
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh")
"""The IPVS schedulers the kernel ships (ip_vs_<name> modules), as `--ipvs-scheduler` takes."""
SYSCTLS = (  # what upstream's NewProxier ensures (conn_reuse_mode only on old kernels)
    ("net/ipv4/vs/conntrack", "1"),
    ("net/ipv4/vs/expire_nodest_conn", "1"),
    ("net/ipv4/vs/expire_quiescent_template", "1"),
    ("net/ipv4/ip_forward", "1"),
)


@dataclass(frozen=True, order=True)
class RealServer:
    """One destination of a virtual server (IPVS forwards with NAT, "Masq")."""

    address: str
    port: int
    weight: int = 1

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class VirtualServer:
    """One IPVS service: address, port, protocol, scheduler, and where it sends connections."""

    address: str
    port: int
    protocol: str  # TCP | UDP | SCTP
    service: str  # the ServicePortName, `namespace/name:port`
    kind: str  # ClusterIP | ExternalIP | NodePort
    scheduler: str = DEFAULT_SCHEDULER
    persistent_seconds: int = 0  # ClientIP session affinity's timeout; 0 = not persistent
    source_hash: bool = False
    real_servers: tuple[RealServer, ...] = ()

    @property
    def key(self) -> str:
        """Upstream's `VirtualServer.String()`: `10.96.0.10:80/TCP`."""
        return f"{self.address}:{self.port}/{self.protocol}"

    @property
    def flags(self) -> tuple[str, ...]:
        found = ("persistent",) if self.persistent_seconds else ()
        return found + (("hashed", "sh-port") if self.source_hash else ())


@dataclass(frozen=True)
class IpvsPlan:
    """One sync's worth of IPVS mode, as data."""

    virtual_servers: tuple[VirtualServer, ...]
    bound_addresses: tuple[str, ...]
    ipsets: tuple[Ipset, ...]
    iptables_payload: str
    jumps: tuple[JumpRule, ...]
    node_addresses: tuple[str, ...]
    scheduler: str = DEFAULT_SCHEDULER
    draining: tuple[tuple[str, RealServer], ...] = ()
    """(virtual server key, real server) pairs that left since `previous`: weight 0 until
    their connections end, as upstream's graceful termination."""
    sysctls: tuple[tuple[str, str], ...] = SYSCTLS
    endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ipset_script(self) -> str:
        return restore_script(self.ipsets)

    def ipset(self, name: str) -> Ipset:
        for found in self.ipsets:
            if found.name == name:
                return found
        raise KeyError(f"no ipset {name!r} in IPVS mode (upstream's sets: see ipvs/sets.py)")

    def virtual_server(self, key: str) -> VirtualServer:
        """The virtual server `10.96.0.10:80/TCP` (upstream's `VirtualServer.String()`)."""
        for found in self.virtual_servers:
            if found.key == key:
                return found
        raise KeyError(f"no virtual server {key!r} in this plan")


def _real_servers(endpoints: tuple[Endpoint, ...], svc: ServicePort,
                  only_local: bool) -> tuple[RealServer, ...]:
    cats = categorize_endpoints(endpoints, svc)
    chosen = cats.local if only_local and cats.local else cats.cluster
    return tuple(sorted({RealServer(ep.ip, ep.port) for ep in chosen}))


def _virtual(svc: ServicePort, address: str, port: int, kind: str, scheduler: str,
             real: tuple[RealServer, ...]) -> VirtualServer:
    return VirtualServer(
        address, port, svc.name.protocol.upper(), str(svc.name), kind, scheduler,
        svc.sticky_seconds if svc.affinity_client_ip else 0, scheduler == "mh", real)


def render_ipvs(
    state: ProxyState,
    node: ProxyNode,
    node_addresses: tuple[str, ...] = (),
    *,
    scheduler: str = DEFAULT_SCHEDULER,
    previous: IpvsPlan | None = None,
) -> IpvsPlan:
    """The IPVS-mode plan for `state` on `node`; `node_addresses` are the node's own IPv4
    addresses (every local address but kube-ipvs0's), where NodePort virtual servers listen."""
    if scheduler not in SCHEDULERS:
        raise ValueError(f"IPVS scheduler {scheduler!r}: use one of {', '.join(SCHEDULERS)}")
    ports = build_service_ports(state)
    endpoints_map = build_endpoints_map(state, node.name)
    entries: dict[str, set[str]] = {}
    virtual: list[VirtualServer] = []
    bound: set[str] = set()
    own = set(node_addresses)
    for name in sorted(ports):
        svc = ports[name]
        eps = endpoints_map.get(name, ())
        proto = svc.protocol
        for ep in eps:
            if ep.is_local:
                entries.setdefault(KUBE_LOOP_BACK, set()).add(
                    ip_port_ip(ep.ip, proto, ep.port, ep.ip))
        entries.setdefault(KUBE_CLUSTER_IP, set()).add(ip_port(svc.cluster_ip, proto, svc.port))
        internal = _real_servers(eps, svc, svc.internal_policy_local)
        virtual.append(_virtual(svc, svc.cluster_ip, svc.port, "ClusterIP", scheduler, internal))
        bound.add(svc.cluster_ip)
        external = _real_servers(eps, svc, svc.external_policy_local)
        for ip in svc.external_ips:
            ext_set = KUBE_EXTERNAL_IP_LOCAL if svc.external_policy_local else KUBE_EXTERNAL_IP
            entries.setdefault(ext_set, set()).add(ip_port(ip, proto, svc.port))
            virtual.append(_virtual(svc, ip, svc.port, "ExternalIP", scheduler, external))
            if ip not in own:
                bound.add(ip)
        if svc.node_port and node_addresses:
            plain, local = NODE_PORT_SETS[proto]
            if proto == "sctp":
                port_entries = {ip_port(a, proto, svc.node_port) for a in node_addresses}
            else:
                port_entries = {str(svc.node_port)}
            entries.setdefault(plain, set()).update(port_entries)
            if svc.external_policy_local:
                entries.setdefault(local, set()).update(port_entries)
            for address in node_addresses:
                virtual.append(_virtual(svc, address, svc.node_port, "NodePort", scheduler,
                                        external))
        if svc.health_check_node_port:
            entries.setdefault(KUBE_HEALTH_CHECK_NODE_PORT, set()).add(
                str(svc.health_check_node_port))
    entries[KUBE_IPVS_IPS] = bound
    sets = build_sets(entries)
    return IpvsPlan(
        virtual_servers=tuple(virtual),
        bound_addresses=tuple(sorted(bound, key=_ip_key)),
        ipsets=sets,
        iptables_payload=restore_payload(sets, node),
        jumps=JUMP_RULES,
        node_addresses=tuple(node_addresses),
        scheduler=scheduler,
        draining=_draining(previous, virtual),
        endpoints={str(n): tuple(str(e) for e in eps) for n, eps in endpoints_map.items()},
    )


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(part) for part in ip.split("."))


def _draining(previous: IpvsPlan | None,
              current: list[VirtualServer]) -> tuple[tuple[str, RealServer], ...]:
    if previous is None:
        return ()
    now = {v.key: set(v.real_servers) for v in current}
    gone = []
    for vs in previous.virtual_servers:
        if vs.key not in now:  # the virtual server itself goes, with its real servers
            continue
        left = set(vs.real_servers) - now[vs.key]
        gone += [(vs.key, RealServer(rs.address, rs.port, 0)) for rs in sorted(left)]
    return tuple(gone)
