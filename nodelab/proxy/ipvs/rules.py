"""The iptables rules of IPVS mode: a fixed handful that match the helper ipsets.

IPVS rewrites the destination itself (the virtual server's real servers), so this table has no
per-Service chain: upstream's `writeIptablesRules` (pkg/proxy/ipvs/proxier.go) writes the same
rules whatever the number of Services, each matching a set (`ipvs.sets`), and a rule is left
out while its set is empty. In upstream's order:

- nat KUBE-SERVICES: connections from 127.0.0.0/8 RETURN; ClusterIP traffic from outside the
  cluster CIDR (or all of it with --masquerade-all) to KUBE-MARK-MASQ; external IPs to
  KUBE-MARK-MASQ and ACCEPT; local destinations to KUBE-NODE-PORT; then ACCEPT for what IPVS
  serves (KUBE-CLUSTER-IP, KUBE-LOAD-BALANCER), so no later rule can drop it;
- nat KUBE-NODE-PORT: NodePorts of Local policy RETURN, the others to KUBE-MARK-MASQ;
- nat KUBE-POSTROUTING: hairpin (an endpoint reaching itself through its Service, the
  KUBE-LOOP-BACK set) MASQUERADE; whatever carries the mark MASQUERADE;
- filter: KUBE-FORWARD accepts marked and established traffic, KUBE-NODE-PORT the health
  check ports, and KUBE-IPVS-FILTER REJECTs new connections to an address on kube-ipvs0 at a
  port that is no Service's (issue 72236: without it every host port answers on each ClusterIP).

The jumps from the built-in chains are upstream's `iptablesJumpChain`, ensured one by one
(`-I`, as upstream's EnsureRule with Prepend).
"""

from __future__ import annotations

from nodelab.proxy.iptables.chains import JumpRule
from nodelab.proxy.ipvs.sets import (
    IPSET_KINDS,
    KUBE_CLUSTER_IP,
    KUBE_EXTERNAL_IP,
    KUBE_EXTERNAL_IP_LOCAL,
    KUBE_HEALTH_CHECK_NODE_PORT,
    KUBE_IPVS_IPS,
    KUBE_LOAD_BALANCER,
    KUBE_LOAD_BALANCER_FW,
    KUBE_LOAD_BALANCER_LOCAL,
    KUBE_LOAD_BALANCER_SOURCE_CIDR,
    KUBE_LOAD_BALANCER_SOURCE_IP,
    KUBE_LOOP_BACK,
    KUBE_NODE_PORT_LOCAL_SCTP,
    KUBE_NODE_PORT_LOCAL_TCP,
    KUBE_NODE_PORT_LOCAL_UDP,
    KUBE_NODE_PORT_SCTP,
    KUBE_NODE_PORT_TCP,
    KUBE_NODE_PORT_UDP,
    Ipset,
)
from nodelab.proxy.model import ProxyNode

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_NODE_PORT = "KUBE-NODE-PORT"
KUBE_LOAD_BALANCER_CHAIN = "KUBE-LOAD-BALANCER"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_SOURCE_RANGES_FIREWALL = "KUBE-SOURCE-RANGES-FIREWALL"
KUBE_IPVS_FILTER = "KUBE-IPVS-FILTER"
KUBE_IPVS_OUT_FILTER = "KUBE-IPVS-OUT-FILTER"

NAT_CHAINS = (KUBE_SERVICES, KUBE_POSTROUTING, KUBE_NODE_PORT, KUBE_LOAD_BALANCER_CHAIN,
              KUBE_MARK_MASQ)
FILTER_CHAINS = (KUBE_FORWARD, KUBE_NODE_PORT, KUBE_PROXY_FIREWALL, KUBE_SOURCE_RANGES_FIREWALL,
                 KUBE_IPVS_FILTER, KUBE_IPVS_OUT_FILTER)

_PORTALS = "kubernetes service portals"
_FILTER = "kubernetes ipvs access filter"
_FIREWALL = "kube-proxy firewall rules"
JUMP_RULES = (
    JumpRule("nat", "OUTPUT", KUBE_SERVICES, (), _PORTALS),
    JumpRule("nat", "PREROUTING", KUBE_SERVICES, (), _PORTALS),
    JumpRule("nat", "POSTROUTING", KUBE_POSTROUTING, (), "kubernetes postrouting rules"),
    JumpRule("filter", "FORWARD", KUBE_FORWARD, (), "kubernetes forwarding rules"),
    JumpRule("filter", "INPUT", KUBE_NODE_PORT, (), "kubernetes health check rules"),
    JumpRule("filter", "INPUT", KUBE_PROXY_FIREWALL, (), _FIREWALL),
    JumpRule("filter", "FORWARD", KUBE_PROXY_FIREWALL, (), _FIREWALL),
    JumpRule("filter", "INPUT", KUBE_IPVS_FILTER, (), _FILTER),
    JumpRule("filter", "OUTPUT", KUBE_IPVS_OUT_FILTER, (), _FILTER),
)

# upstream's ipsetWithIptablesChain: (set, table, from chain, to, match, protocol)
_SET_RULES = (
    (KUBE_LOOP_BACK, "nat", KUBE_POSTROUTING, "MASQUERADE", "dst,dst,src", ""),
    (KUBE_LOAD_BALANCER, "nat", KUBE_SERVICES, KUBE_LOAD_BALANCER_CHAIN, "dst,dst", ""),
    (KUBE_LOAD_BALANCER_LOCAL, "nat", KUBE_LOAD_BALANCER_CHAIN, "RETURN", "dst,dst", ""),
    (KUBE_NODE_PORT_LOCAL_TCP, "nat", KUBE_NODE_PORT, "RETURN", "dst", "tcp"),
    (KUBE_NODE_PORT_TCP, "nat", KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst", "tcp"),
    (KUBE_NODE_PORT_LOCAL_UDP, "nat", KUBE_NODE_PORT, "RETURN", "dst", "udp"),
    (KUBE_NODE_PORT_UDP, "nat", KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst", "udp"),
    (KUBE_NODE_PORT_LOCAL_SCTP, "nat", KUBE_NODE_PORT, "RETURN", "dst,dst", "sctp"),
    (KUBE_NODE_PORT_SCTP, "nat", KUBE_NODE_PORT, KUBE_MARK_MASQ, "dst,dst", "sctp"),
    (KUBE_LOAD_BALANCER_FW, "filter", KUBE_PROXY_FIREWALL, KUBE_SOURCE_RANGES_FIREWALL,
     "dst,dst", ""),
    (KUBE_LOAD_BALANCER_SOURCE_CIDR, "filter", KUBE_SOURCE_RANGES_FIREWALL, "RETURN",
     "dst,dst,src", ""),
    (KUBE_LOAD_BALANCER_SOURCE_IP, "filter", KUBE_SOURCE_RANGES_FIREWALL, "RETURN",
     "dst,dst,src", ""),
)


def _comment(set_name: str) -> str:
    return f'-m comment --comment "{IPSET_KINDS[set_name].comment}"'


def _match(set_name: str, how: str) -> str:
    return f"-m set --match-set {set_name} {how}"


def iptables_rules(sets: tuple[Ipset, ...], node: ProxyNode) -> tuple[list[str], list[str]]:
    """(nat rules, filter rules) as upstream's writeIptablesRules orders them."""
    full = {s.name: not s.empty for s in sets}
    nat = [f"-A {KUBE_SERVICES} -s 127.0.0.0/8 -j RETURN"]
    filt: list[str] = []
    for name, table, src, dst, how, proto in _SET_RULES:
        if full.get(name):
            p = f"-p {proto} " if proto else ""
            line = f"-A {src} {p}{_comment(name)} {_match(name, how)} -j {dst}"
            (nat if table == "nat" else filt).append(line)
    if full.get(KUBE_CLUSTER_IP):
        head = (f"-A {KUBE_SERVICES} {_comment(KUBE_CLUSTER_IP)} "
                f"-m set --match-set {KUBE_CLUSTER_IP}")
        if node.masquerade_all:
            nat.append(f"{head} dst,dst -j {KUBE_MARK_MASQ}")
        elif node.cluster_cidr:
            nat.append(f"{head} dst,dst ! -s {node.cluster_cidr} -j {KUBE_MARK_MASQ}")
        else:
            nat.append(f"{head} src,dst -j {KUBE_MARK_MASQ}")
    for name in (KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL):
        if full.get(name):
            head = f"-A {KUBE_SERVICES} {_comment(name)} {_match(name, 'dst,dst')}"
            if name == KUBE_EXTERNAL_IP:
                nat.append(f"{head} -j {KUBE_MARK_MASQ}")
            nat.append(f"{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL "
                       "-j ACCEPT")
            nat.append(f"{head} -m addrtype --dst-type LOCAL -j ACCEPT")
    nat.append(f"-A {KUBE_SERVICES} -m addrtype --dst-type LOCAL -j {KUBE_NODE_PORT}")
    nat.append(f"-A {KUBE_LOAD_BALANCER_CHAIN} -j {KUBE_MARK_MASQ}")
    filt.append(f"-A {KUBE_SOURCE_RANGES_FIREWALL} -j DROP")
    for name in (KUBE_CLUSTER_IP, KUBE_LOAD_BALANCER):  # acceptIPVSTraffic
        if full.get(name):
            nat.append(f"-A {KUBE_SERVICES} {_match(name, 'dst,dst')} -j ACCEPT")
    mark = node.masquerade_mark
    filt += [
        f'-A {KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" '
        f"-m mark --mark {mark}/{mark} -j ACCEPT",
        f'-A {KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A {KUBE_NODE_PORT} {_comment(KUBE_HEALTH_CHECK_NODE_PORT)} "
        f"{_match(KUBE_HEALTH_CHECK_NODE_PORT, 'dst')} -j ACCEPT",
    ]
    for name in (KUBE_LOAD_BALANCER, KUBE_CLUSTER_IP, KUBE_EXTERNAL_IP, KUBE_EXTERNAL_IP_LOCAL):
        filt.append(f"-A {KUBE_IPVS_FILTER} {_match(name, 'dst,dst')} -j RETURN")
    filt.append(f"-A {KUBE_IPVS_FILTER} {_match(KUBE_HEALTH_CHECK_NODE_PORT, 'dst')} -j RETURN")
    filt.append(f"-A {KUBE_IPVS_FILTER} -m conntrack --ctstate NEW "
                f"{_match(KUBE_IPVS_IPS, 'dst')} -j REJECT")
    nat += [
        f"-A {KUBE_POSTROUTING} -m mark ! --mark {mark}/{mark} -j RETURN",
        f"-A {KUBE_POSTROUTING} -j MARK --xor-mark {mark}",
        f'-A {KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
        f"-A {KUBE_MARK_MASQ} -j MARK --or-mark {mark}",
    ]
    return nat, filt


def restore_payload(sets: tuple[Ipset, ...], node: ProxyNode) -> str:
    """The `iptables-restore --noflush` payload: nat then filter, each chain declared (and so
    flushed) first, as upstream writes it."""
    nat, filt = iptables_rules(sets, node)
    lines = ["*nat", *(f":{c} - [0:0]" for c in NAT_CHAINS), *nat, "COMMIT"]
    lines += ["*filter", *(f":{c} - [0:0]" for c in FILTER_CHAINS), *filt, "COMMIT"]
    return "\n".join(lines) + "\n"
