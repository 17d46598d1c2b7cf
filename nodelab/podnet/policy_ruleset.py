"""The NetworkPolicy plan as an nft ruleset: nodelab's own table in the node's namespace.

    table inet nodelab-netpol {
        chain ingress-default/web {             # one chain per isolated pod and direction
            ip saddr { 10.244.1.7 } tcp dport 80 accept comment "default/allow ingress[0]"
            drop comment "default/allow: isolated for ingress"
        }
        chain egress-default/client {
            ip daddr 10.96.0.0/12 ... return    # allowed: go on to the receiver's ingress check
            drop
        }
        chain forward {
            type filter hook forward priority filter; policy accept;
            ct state established,related accept      # replies of allowed connections
            ip saddr 10.244.1.9 jump egress-default/client
            ip daddr 10.244.1.8 jump ingress-default/web
        }
    }

Pod traffic crosses the node's forward hook both when it is routed (to and from other nodes) and
when it is bridged between two pods of this node (br_netfilter's bridge-nf-call-iptables, which
podnet turns on in the node's namespace, hands bridged IPv4 to the inet hooks), after
kube-proxy's DNAT, so a Service's traffic is checked against the pod it reaches. The node's
own traffic (probes, port-forward) goes through its input and output hooks and is never
filtered, as upstream says.
The table is written whole in one `nft -f` transaction (created, deleted, written again), so
no packet ever sees half a ruleset, and nothing outside it is touched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from nodelab.podnet.policy_plan import EGRESS, INGRESS, Allow, PodRules

FAMILY, TABLE = "inet", "nodelab-netpol"
MAX_CHAIN = 200  # nft allows 255 bytes; longer pod names get a digest instead


_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._/:,\[\]-]")


def chain_name(rules: PodRules) -> str:
    """`ingress-<namespace>/<pod>`; a digest of the name where it is too long for nft or not a
    DNS name (only a foreign API server could send one: it never reaches nft's parser)."""
    name = f"{rules.direction.lower()}-{rules.pod}"
    if len(name) > MAX_CHAIN or not _NAME.match(rules.pod):
        digest = hashlib.sha256(rules.pod.encode()).hexdigest()[:16]
        namespace = rules.pod.split("/")[0][:63]
        shown = namespace if _NAME.match(f"{namespace}/x") else "pod"
        name = f"{rules.direction.lower()}-{shown}/{digest}"
    return name


def _quote(text: str) -> str:
    """An nft comment: at most 128 bytes, of characters nft reads as text (names and rule
    paths hold nothing else; anything else is replaced)."""
    text = _UNSAFE.sub("?", text)
    text = text if len(text) <= 127 else text[:124] + "..."
    return f'"{text}"'


def _rule(allow: Allow, direction: str) -> str:
    field = "saddr" if direction == INGRESS else "daddr"
    parts = []
    if len(allow.peers) == 1 and allow.peers[0].excepts:  # `_split` leaves excepts alone
        peer = allow.peers[0]
        parts.append(f"ip {field} {peer.network}")
        parts.append(f"ip {field} != {{ {', '.join(str(e) for e in peer.excepts)} }}")
    elif allow.peers:
        networks = sorted({p.network for p in allow.peers})
        shown = [str(n.network_address) if n.prefixlen == 32 else str(n) for n in networks]
        parts.append(f"ip {field} {{ {', '.join(shown)} }}")
    ports = allow.ports
    if ports.protocol is not None:
        protocol = ports.protocol.lower()
        parts.append(f"meta l4proto {protocol}")
        if ports.first is not None:
            span = str(ports.first) if not ports.last or ports.last == ports.first \
                else f"{ports.first}-{ports.last}"
            parts.append(f"th dport {span}")
    verdict = "accept" if direction == INGRESS else "return"
    return " ".join([*parts, verdict, "comment", _quote(allow.source)])


def _split(allow: Allow) -> list[Allow]:
    """An allow whose peers carry `except`s: one rule per such peer (a set cannot say it)."""
    if not any(p.excepts for p in allow.peers) or len(allow.peers) == 1:
        return [allow]
    plain = tuple(p for p in allow.peers if not p.excepts)
    split = [Allow((p,), allow.ports, allow.source) for p in allow.peers if p.excepts]
    return ([Allow(plain, allow.ports, allow.source)] if plain else []) + split


def ruleset(plan: Sequence[PodRules]) -> str:
    """The whole table, to load with `nft -f -` (the first two lines replace an old one)."""
    lines = [f"table {FAMILY} {TABLE} {{", "}", f"delete table {FAMILY} {TABLE}",
             f"table {FAMILY} {TABLE} {{"]
    for rules in plan:
        lines.append(f"\tchain {chain_name(rules)} {{")
        for allow in rules.allows:
            for part in _split(allow):
                lines.append(f"\t\t{_rule(part, rules.direction)}")
        isolated = f"{', '.join(rules.policies)}: isolated for {rules.direction.lower()}"
        lines.append(f"\t\tdrop comment {_quote(isolated)}")
        lines.append("\t}")
    lines.append("\tchain forward {")
    lines.append("\t\ttype filter hook forward priority filter; policy accept;")
    lines.append("\t\tct state established,related accept")
    for direction, field in ((EGRESS, "saddr"), (INGRESS, "daddr")):
        for rules in plan:
            if rules.direction == direction:
                lines.append(f"\t\tip {field} {rules.ip} jump {chain_name(rules)}")
    lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"
