"""The helper ipsets of IPVS mode: their names, types, comments and how an entry is written.

IPVS does the load balancing, but kube-proxy in IPVS mode still needs iptables for what IPVS
cannot do (masquerade, NodePort marking, filtering), and keeps those iptables rules a fixed
size by matching *ipsets* instead of writing one rule per Service. Upstream's sets
(pkg/proxy/ipvs/ipset.go, `ipsetInfo` in proxier.go), in upstream's order, with upstream's
types and comments; an entry is written as upstream's `Entry.String()`:

- `hash:ip,port`: `10.96.0.10,tcp:80` (ClusterIP, external IP, load balancer IP + port);
- `hash:ip,port,ip`: `10.244.1.2,tcp:8080,10.244.1.2` (an endpoint reaching itself);
- `hash:ip,port,net`: `<lb ip>,tcp:80,<source cidr>`;
- `bitmap:port`: `30080` (NodePorts, health check node ports);
- `hash:ip`: `10.96.0.10` (the addresses bound to kube-ipvs0).
"""

from __future__ import annotations

from dataclasses import dataclass

HASH_IP = "hash:ip"
HASH_IP_PORT = "hash:ip,port"
HASH_IP_PORT_IP = "hash:ip,port,ip"
HASH_IP_PORT_NET = "hash:ip,port,net"
BITMAP_PORT = "bitmap:port"

KUBE_LOOP_BACK = "KUBE-LOOP-BACK"
KUBE_CLUSTER_IP = "KUBE-CLUSTER-IP"
KUBE_EXTERNAL_IP = "KUBE-EXTERNAL-IP"
KUBE_EXTERNAL_IP_LOCAL = "KUBE-EXTERNAL-IP-LOCAL"
KUBE_LOAD_BALANCER = "KUBE-LOAD-BALANCER"
KUBE_LOAD_BALANCER_FW = "KUBE-LOAD-BALANCER-FW"
KUBE_LOAD_BALANCER_LOCAL = "KUBE-LOAD-BALANCER-LOCAL"
KUBE_LOAD_BALANCER_SOURCE_IP = "KUBE-LOAD-BALANCER-SOURCE-IP"
KUBE_LOAD_BALANCER_SOURCE_CIDR = "KUBE-LOAD-BALANCER-SOURCE-CIDR"
KUBE_NODE_PORT_TCP = "KUBE-NODE-PORT-TCP"
KUBE_NODE_PORT_LOCAL_TCP = "KUBE-NODE-PORT-LOCAL-TCP"
KUBE_NODE_PORT_UDP = "KUBE-NODE-PORT-UDP"
KUBE_NODE_PORT_LOCAL_UDP = "KUBE-NODE-PORT-LOCAL-UDP"
KUBE_NODE_PORT_SCTP = "KUBE-NODE-PORT-SCTP-HASH"
KUBE_NODE_PORT_LOCAL_SCTP = "KUBE-NODE-PORT-LOCAL-SCTP-HASH"
KUBE_HEALTH_CHECK_NODE_PORT = "KUBE-HEALTH-CHECK-NODE-PORT"
KUBE_IPVS_IPS = "KUBE-IPVS-IPS"


@dataclass(frozen=True)
class IpsetKind:
    """One of upstream's sets: name, type and comment."""

    name: str
    type: str
    comment: str

    def create_line(self) -> str:
        """The set's `ipset restore` create line, with upstream's defaults
        (`SetIPSetDefaults`: hashsize 1024, maxelem 65536, port range 0-65535)."""
        if self.type == BITMAP_PORT:
            return f"create {self.name} {self.type} range 0-65535 comment -exist"
        return (f"create {self.name} {self.type} family inet hashsize 1024 maxelem 65536 "
                "comment -exist")


IPSETS: tuple[IpsetKind, ...] = (
    IpsetKind(KUBE_LOOP_BACK, HASH_IP_PORT_IP,
              "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
    IpsetKind(KUBE_CLUSTER_IP, HASH_IP_PORT,
              "Kubernetes service cluster ip + port for masquerade purpose"),
    IpsetKind(KUBE_EXTERNAL_IP, HASH_IP_PORT,
              "Kubernetes service external ip + port for masquerade and filter purpose"),
    IpsetKind(KUBE_EXTERNAL_IP_LOCAL, HASH_IP_PORT,
              "Kubernetes service external ip + port with externalTrafficPolicy=local"),
    IpsetKind(KUBE_LOAD_BALANCER, HASH_IP_PORT, "Kubernetes service lb portal"),
    IpsetKind(KUBE_LOAD_BALANCER_FW, HASH_IP_PORT,
              "Kubernetes service load balancer ip + port for load balancer with sourceRange"),
    IpsetKind(KUBE_LOAD_BALANCER_LOCAL, HASH_IP_PORT,
              "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"),
    IpsetKind(KUBE_LOAD_BALANCER_SOURCE_IP, HASH_IP_PORT_IP,
              "Kubernetes service load balancer ip + port + source IP for packet filter purpose"),
    IpsetKind(KUBE_LOAD_BALANCER_SOURCE_CIDR, HASH_IP_PORT_NET,
              "Kubernetes service load balancer ip + port + source cidr for packet filter "
              "purpose"),
    IpsetKind(KUBE_NODE_PORT_TCP, BITMAP_PORT,
              "Kubernetes nodeport TCP port for masquerade purpose"),
    IpsetKind(KUBE_NODE_PORT_LOCAL_TCP, BITMAP_PORT,
              "Kubernetes nodeport TCP port with externalTrafficPolicy=local"),
    IpsetKind(KUBE_NODE_PORT_UDP, BITMAP_PORT,
              "Kubernetes nodeport UDP port for masquerade purpose"),
    IpsetKind(KUBE_NODE_PORT_LOCAL_UDP, BITMAP_PORT,
              "Kubernetes nodeport UDP port with externalTrafficPolicy=local"),
    IpsetKind(KUBE_NODE_PORT_SCTP, HASH_IP_PORT,
              "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"),
    IpsetKind(KUBE_NODE_PORT_LOCAL_SCTP, HASH_IP_PORT,
              "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type "
              "'hash ip:port'"),
    IpsetKind(KUBE_HEALTH_CHECK_NODE_PORT, BITMAP_PORT, "Kubernetes health check node port"),
    IpsetKind(KUBE_IPVS_IPS, HASH_IP, "Addresses on the ipvs interface"),
)
IPSET_KINDS = {kind.name: kind for kind in IPSETS}

NODE_PORT_SETS = {  # protocol -> (the set, the set for externalTrafficPolicy=Local)
    "tcp": (KUBE_NODE_PORT_TCP, KUBE_NODE_PORT_LOCAL_TCP),
    "udp": (KUBE_NODE_PORT_UDP, KUBE_NODE_PORT_LOCAL_UDP),
    "sctp": (KUBE_NODE_PORT_SCTP, KUBE_NODE_PORT_LOCAL_SCTP),
}


def ip_port(ip: str, protocol: str, port: int) -> str:
    """A `hash:ip,port` entry: `10.96.0.10,tcp:80`."""
    return f"{ip},{protocol}:{port}"


def ip_port_ip(ip: str, protocol: str, port: int, ip2: str) -> str:
    """A `hash:ip,port,ip` entry: `10.244.1.2,tcp:8080,10.244.1.2`."""
    return f"{ip},{protocol}:{port},{ip2}"


@dataclass(frozen=True)
class Ipset:
    """One set and the entries a sync leaves in it (sorted)."""

    name: str
    type: str
    comment: str
    entries: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.entries


def build_sets(entries: dict[str, set[str]]) -> tuple[Ipset, ...]:
    """Every upstream set in upstream's order, with `entries[name]` (sorted) or none."""
    return tuple(Ipset(k.name, k.type, k.comment, tuple(sorted(entries.get(k.name, ()))))
                 for k in IPSETS)


def restore_script(sets: tuple[Ipset, ...]) -> str:
    """An `ipset restore` script that creates every set and adds its entries (as upstream's
    syncIPSetEntries on a node with no sets yet; a later sync adds and deletes the
    difference)."""
    lines = [IPSET_KINDS[s.name].create_line() for s in sets]
    lines += [f"add {s.name} {entry} -exist" for s in sets for entry in s.entries]
    return "\n".join(lines) + "\n"
