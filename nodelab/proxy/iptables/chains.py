"""The fixed part of iptables mode: kube-proxy's top-level chains and the jumps into them.

Upstream (pkg/proxy/iptables/proxier.go) creates these chains and hooks them into the built-in
chains with one rule each (`iptablesJumpChains`): filter INPUT/FORWARD/OUTPUT for the REJECT
and firewall rules, nat PREROUTING/OUTPUT into KUBE-SERVICES, nat POSTROUTING into
KUBE-POSTROUTING. KUBE-FIREWALL (the guard for localhost NodePorts) is the kubelet's upstream;
kube-proxy creates it too (`iptablesKubeletJumpChains`).
"""

from __future__ import annotations

from dataclasses import dataclass

KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_FIREWALL = "KUBE-FIREWALL"
KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY"
"""Upstream's canary: an empty chain in each of these tables. Whoever flushes the tables
removes it too, and its absence makes the next sync a full one (upstream's iptables
`Monitor`)."""
CANARY_TABLES = ("mangle", "nat", "filter")

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

    def rule_text(self) -> str:
        """The rule's arguments as iptables-save prints them (a comment with spaces quoted)."""
        words = list(self.args)
        if self.comment:
            comment = f'"{self.comment}"' if " " in self.comment else self.comment
            words += ["-m", "comment", "--comment", comment]
        return " ".join(words + ["-j", self.dst_chain])

    def saved_line(self) -> str:
        """This rule's line in `iptables-save` output (how a sync finds it in place)."""
        return f"-A {self.src_chain} {self.rule_text()}"


_NEW = ("-m", "conntrack", "--ctstate", "NEW")
_EXTERNAL = "kubernetes externally-visible service portals"
_PORTALS = "kubernetes service portals"
_LB_FIREWALL = "kubernetes load balancer firewall"
JUMP_RULES = (
    JumpRule("filter", "INPUT", KUBE_EXTERNAL_SERVICES, _NEW, _EXTERNAL),
    JumpRule("filter", "FORWARD", KUBE_EXTERNAL_SERVICES, _NEW, _EXTERNAL),
    JumpRule("filter", "INPUT", KUBE_NODEPORTS, (), "kubernetes health check service ports"),
    JumpRule("filter", "FORWARD", KUBE_SERVICES, _NEW, _PORTALS),
    JumpRule("filter", "OUTPUT", KUBE_SERVICES, _NEW, _PORTALS),
    JumpRule("filter", "FORWARD", KUBE_FORWARD, (), "kubernetes forwarding rules"),
    JumpRule("filter", "INPUT", KUBE_PROXY_FIREWALL, _NEW, _LB_FIREWALL),
    JumpRule("filter", "OUTPUT", KUBE_PROXY_FIREWALL, _NEW, _LB_FIREWALL),
    JumpRule("filter", "FORWARD", KUBE_PROXY_FIREWALL, _NEW, _LB_FIREWALL),
    JumpRule("nat", "OUTPUT", KUBE_SERVICES, (), _PORTALS),
    JumpRule("nat", "PREROUTING", KUBE_SERVICES, (), _PORTALS),
    JumpRule("nat", "POSTROUTING", KUBE_POSTROUTING, (), "kubernetes postrouting rules"),
)
KUBELET_JUMP_RULES = (
    JumpRule("filter", "INPUT", KUBE_FIREWALL),
    JumpRule("filter", "OUTPUT", KUBE_FIREWALL),
)
