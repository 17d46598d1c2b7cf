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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.proxy.chain_names import (
    EXT_PREFIX,
    SVL_PREFIX,
    endpoint_chain,
    is_iptables_service_chain,
    service_chain,
)
from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.servicemap import (
    Endpoint,
    ServicePort,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_FIREWALL = "KUBE-FIREWALL"

FILTER_TOP_CHAINS = (
    KUBE_SERVICES,
    KUBE_EXTERNAL_SERVICES,
    KUBE_FORWARD,
    KUBE_NODEPORTS,
    KUBE_PROXY_FIREWALL,
)
NAT_TOP_CHAINS = (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ)


@dataclass(frozen=True)
class JumpRule:
    """A rule in a built-in chain that jumps to one of ours (`-I <src> <args> -j <dst>`)."""

    table: str
    src_chain: str
    dst_chain: str
    args: tuple[str, ...] = ()
    comment: str = ""

    def rule_args(self) -> list[str]:
        args = list(self.args)
        if self.comment:
            args += ["-m", "comment", "--comment", self.comment]
        return args + ["-j", self.dst_chain]


_NEW = ("-m", "conntrack", "--ctstate", "NEW")
JUMP_RULES = (
    JumpRule(
        "filter",
        "INPUT",
        KUBE_EXTERNAL_SERVICES,
        _NEW,
        "kubernetes externally-visible service portals",
    ),
    JumpRule(
        "filter",
        "FORWARD",
        KUBE_EXTERNAL_SERVICES,
        _NEW,
        "kubernetes externally-visible service portals",
    ),
    JumpRule("filter", "INPUT", KUBE_NODEPORTS, (), "kubernetes health check service ports"),
    JumpRule("filter", "FORWARD", KUBE_SERVICES, _NEW, "kubernetes service portals"),
    JumpRule("filter", "OUTPUT", KUBE_SERVICES, _NEW, "kubernetes service portals"),
    JumpRule("filter", "FORWARD", KUBE_FORWARD, (), "kubernetes forwarding rules"),
    JumpRule("filter", "INPUT", KUBE_PROXY_FIREWALL, _NEW, "kubernetes load balancer firewall"),
    JumpRule("filter", "OUTPUT", KUBE_PROXY_FIREWALL, _NEW, "kubernetes load balancer firewall"),
    JumpRule("filter", "FORWARD", KUBE_PROXY_FIREWALL, _NEW, "kubernetes load balancer firewall"),
    JumpRule("nat", "OUTPUT", KUBE_SERVICES, (), "kubernetes service portals"),
    JumpRule("nat", "PREROUTING", KUBE_SERVICES, (), "kubernetes service portals"),
    JumpRule("nat", "POSTROUTING", KUBE_POSTROUTING, (), "kubernetes postrouting rules"),
)
KUBELET_JUMP_RULES = (
    JumpRule("filter", "INPUT", KUBE_FIREWALL),
    JumpRule("filter", "OUTPUT", KUBE_FIREWALL),
)


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


def _quote(text: str) -> str:
    return f'"{text}"' if " " in text else text


def _line(*words: str | Sequence[str]) -> str:
    out: list[str] = []
    for w in words:
        if isinstance(w, str):
            out.append(w)
        else:
            out.extend(w)
    return " ".join(out)


def probability(n: int) -> str:
    """Upstream `computeProbability`: `%0.10f` of 1/n."""
    return f"{1.0 / n:0.10f}"


@dataclass
class _Buffers:
    filter_rules: list[str] = field(default_factory=list)
    nat_rules: list[str] = field(default_factory=list)


def _service_rules(
    svc: ServicePort,
    endpoints: tuple[Endpoint, ...],
    node: ProxyNode,
    top: _Buffers,
    nat_chains: list[str],
    nat_rules: list[str],
) -> None:
    """Append one service port's rules: top-level ones to `top`, its own chains to the lists."""
    proto = svc.protocol
    name = str(svc.name)
    cats = categorize_endpoints(endpoints, svc)
    cluster_chain = service_chain(svc.name)
    local_chain = service_chain(svc.name, SVL_PREFIX)
    ext_chain = service_chain(svc.name, EXT_PREFIX)
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
        int_target = ext_target = "REJECT"
        int_comment = ext_comment = f'"{name} has no endpoints"'
    else:
        int_target, int_comment = "DROP", f'"{name} has no local endpoints"'
        ext_target, ext_comment = int_target, int_comment

    match = ("-m", proto, "-p", proto)
    dport = ("--dport", str(svc.port))
    if has_internal:
        top.nat_rules.append(
            _line(
                "-A",
                KUBE_SERVICES,
                "-m",
                "comment",
                "--comment",
                f'"{name} cluster IP"',
                match,
                "-d",
                svc.cluster_ip,
                dport,
                "-j",
                internal_chain,
            )
        )
    else:
        top.filter_rules.append(
            _line(
                "-A",
                KUBE_SERVICES,
                "-m",
                "comment",
                "--comment",
                int_comment,
                match,
                "-d",
                svc.cluster_ip,
                dport,
                "-j",
                int_target,
            )
        )
    for ip in svc.external_ips:
        if cats.has_endpoints:
            top.nat_rules.append(
                _line(
                    "-A",
                    KUBE_SERVICES,
                    "-m",
                    "comment",
                    "--comment",
                    f'"{name} external IP"',
                    match,
                    "-d",
                    ip,
                    dport,
                    "-j",
                    ext_chain,
                )
            )
        if not has_external:
            top.filter_rules.append(
                _line(
                    "-A",
                    KUBE_EXTERNAL_SERVICES,
                    "-m",
                    "comment",
                    "--comment",
                    ext_comment,
                    match,
                    "-d",
                    ip,
                    dport,
                    "-j",
                    ext_target,
                )
            )
    if svc.node_port:
        nport = ("--dport", str(svc.node_port))
        if cats.has_endpoints:
            top.nat_rules.append(
                _line(
                    "-A",
                    KUBE_NODEPORTS,
                    "-m",
                    "comment",
                    "--comment",
                    _quote(name),
                    match,
                    nport,
                    "-j",
                    ext_chain,
                )
            )
        if not has_external:
            top.filter_rules.append(
                _line(
                    "-A",
                    KUBE_EXTERNAL_SERVICES,
                    "-m",
                    "comment",
                    "--comment",
                    ext_comment,
                    "-m",
                    "addrtype",
                    "--dst-type",
                    "LOCAL",
                    match,
                    nport,
                    "-j",
                    ext_target,
                )
            )
    if svc.health_check_node_port:
        top.filter_rules.append(
            _line(
                "-A",
                KUBE_NODEPORTS,
                "-m",
                "comment",
                "--comment",
                f'"{name} health check node port"',
                "-m",
                "tcp",
                "-p",
                "tcp",
                "--dport",
                str(svc.health_check_node_port),
                "-j",
                "ACCEPT",
            )
        )

    if has_internal:
        args = (
            "-m",
            "comment",
            "--comment",
            f'"{name} cluster IP"',
            *match,
            "-d",
            svc.cluster_ip,
            *dport,
        )
        if node.masquerade_all:
            nat_rules.append(_line("-A", internal_chain, args, "-j", KUBE_MARK_MASQ))
        elif node.cluster_cidr:
            nat_rules.append(
                _line(
                    "-A", internal_chain, args, "!", "-s", node.cluster_cidr, "-j", KUBE_MARK_MASQ
                )
            )
    if uses_ext:
        nat_chains.append(ext_chain)
        if not svc.external_policy_local:
            nat_rules.append(
                _line(
                    "-A",
                    ext_chain,
                    "-m",
                    "comment",
                    "--comment",
                    f'"masquerade traffic for {name} external destinations"',
                    "-j",
                    KUBE_MARK_MASQ,
                )
            )
        else:
            if node.cluster_cidr:
                nat_rules.append(
                    _line(
                        "-A",
                        ext_chain,
                        "-m",
                        "comment",
                        "--comment",
                        f'"pod traffic for {name} external destinations"',
                        "-s",
                        node.cluster_cidr,
                        "-j",
                        cluster_chain,
                    )
                )
            nat_rules.append(
                _line(
                    "-A",
                    ext_chain,
                    "-m",
                    "comment",
                    "--comment",
                    f'"masquerade LOCAL traffic for {name} external destinations"',
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    KUBE_MARK_MASQ,
                )
            )
            nat_rules.append(
                _line(
                    "-A",
                    ext_chain,
                    "-m",
                    "comment",
                    "--comment",
                    f'"route LOCAL traffic for {name} external destinations"',
                    "-m",
                    "addrtype",
                    "--src-type",
                    "LOCAL",
                    "-j",
                    cluster_chain,
                )
            )
        if has_external:
            nat_rules.append(_line("-A", ext_chain, "-j", external_policy_chain))
    if uses_cluster:
        nat_chains.append(cluster_chain)
        _balance(svc, cluster_chain, cats.cluster, nat_rules)
    if uses_local:
        nat_chains.append(local_chain)
        _balance(svc, local_chain, cats.local, nat_rules)
    for ep in cats.reachable:
        sep = endpoint_chain(svc.name, ep)
        nat_chains.append(sep)
        base = ("-A", sep, "-m", "comment", "--comment", _quote(name))
        nat_rules.append(_line(base, "-s", ep.ip, "-j", KUBE_MARK_MASQ))
        affinity: tuple[str, ...] = ()
        if svc.affinity_client_ip:
            affinity = ("-m", "recent", "--name", sep, "--set")
        nat_rules.append(_line(base, affinity, match, "-j", "DNAT", "--to-destination", str(ep)))


def _balance(
    svc: ServicePort, chain: str, endpoints: tuple[Endpoint, ...], nat_rules: list[str]
) -> None:
    name = str(svc.name)
    if svc.affinity_client_ip:
        for ep in endpoints:
            sep = endpoint_chain(svc.name, ep)
            nat_rules.append(
                _line(
                    "-A",
                    chain,
                    "-m",
                    "comment",
                    "--comment",
                    f'"{name} -> {ep}"',
                    "-m",
                    "recent",
                    "--name",
                    sep,
                    "--rcheck",
                    "--seconds",
                    str(svc.sticky_seconds),
                    "--reap",
                    "-j",
                    sep,
                )
            )
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        stat: tuple[str, ...] = ()
        if i < n - 1:
            stat = ("-m", "statistic", "--mode", "random", "--probability", probability(n - i))
        nat_rules.append(
            _line(
                "-A",
                chain,
                "-m",
                "comment",
                "--comment",
                f'"{name} -> {ep}"',
                stat,
                "-j",
                endpoint_chain(svc.name, ep),
            )
        )


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
    mark = node.masquerade_mark
    ports = build_service_ports(state)
    endpoints_map = build_endpoints_map(state, node.name)

    top = _Buffers()
    filter_chains = list(FILTER_TOP_CHAINS)
    nat_chain_lines = list(NAT_TOP_CHAINS)
    top.nat_rules += [
        _line(
            "-A", KUBE_POSTROUTING, "-m", "mark", "!", "--mark", f"{mark}/{mark}", "-j", "RETURN"
        ),
        _line("-A", KUBE_POSTROUTING, "-j", "MARK", "--xor-mark", mark),
        _line(
            "-A",
            KUBE_POSTROUTING,
            "-m",
            "comment",
            "--comment",
            '"kubernetes service traffic requiring SNAT"',
            "-j",
            "MASQUERADE",
            "--random-fully",
        ),
        _line("-A", KUBE_MARK_MASQ, "-j", "MARK", "--or-mark", mark),
    ]
    if node.localhost_nodeports:
        filter_chains.append(KUBE_FIREWALL)
        top.filter_rules.append(
            _line(
                "-A",
                KUBE_FIREWALL,
                "-m",
                "comment",
                "--comment",
                '"block incoming localnet connections"',
                "-d",
                "127.0.0.0/8",
                "!",
                "-s",
                "127.0.0.0/8",
                "-m",
                "conntrack",
                "!",
                "--ctstate",
                "RELATED,ESTABLISHED,DNAT",
                "-j",
                "DROP",
            )
        )

    by_service: dict[tuple[str, str], list[ServicePort]] = {}
    for sp_name in sorted(ports):
        by_service.setdefault(sp_name.service, []).append(ports[sp_name])

    blocks: dict[tuple[str, str], ServiceBlock] = {}
    written: list[tuple[str, str]] = []
    service_rules: list[str] = []
    for key, svc_ports in by_service.items():
        chains: list[str] = []
        rules: list[str] = []
        for svc in svc_ports:
            _service_rules(svc, endpoints_map.get(svc.name, ()), node, top, chains, rules)
        block = ServiceBlock(tuple(chains), tuple(rules))
        blocks[key] = block
        if full or previous is None or previous.blocks.get(key) != block:
            written.append(key)
            nat_chain_lines += chains
            service_rules += rules

    active = frozenset(c for b in blocks.values() for c in b.chains)
    known = set(existing_chains) | (set(previous.active_nat_chains) if previous else set())
    stale = sorted(c for c in known - active if is_iptables_service_chain(c))
    nat_chain_lines += stale

    if node.localhost_nodeports:
        destinations: tuple[str, ...] = ("-m", "addrtype", "--dst-type", "LOCAL")
    else:
        destinations = ("-m", "addrtype", "--dst-type", "LOCAL", "!", "-d", "127.0.0.0/8")
    nat_tail = [
        _line(
            "-A",
            KUBE_SERVICES,
            "-m",
            "comment",
            "--comment",
            '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"',
            destinations,
            "-j",
            KUBE_NODEPORTS,
        )
    ]

    forward: list[str] = []
    if not node.conntrack_tcp_liberal:
        forward.append(
            _line("-A", KUBE_FORWARD, "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP")
        )
    forward += [
        _line(
            "-A",
            KUBE_FORWARD,
            "-m",
            "comment",
            "--comment",
            '"kubernetes forwarding rules"',
            "-m",
            "mark",
            "--mark",
            f"{mark}/{mark}",
            "-j",
            "ACCEPT",
        ),
        _line(
            "-A",
            KUBE_FORWARD,
            "-m",
            "comment",
            "--comment",
            '"kubernetes forwarding conntrack rule"',
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT",
        ),
    ]
    filter_rules = top.filter_rules + forward
    nat_rules = top.nat_rules + service_rules + [f"-X {c}" for c in stale] + nat_tail

    lines = ["*filter"]
    lines += [f":{c} - [0:0]" for c in filter_chains]
    lines += filter_rules
    lines += ["COMMIT", "*nat"]
    lines += [f":{c} - [0:0]" for c in nat_chain_lines]
    lines += nat_rules
    lines.append("COMMIT")

    all_service_rules = sum(len(b.rules) for b in blocks.values())
    rules_total = len(filter_rules) + len(top.nat_rules) + all_service_rules + len(nat_tail)
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
