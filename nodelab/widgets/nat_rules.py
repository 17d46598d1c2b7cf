"""kube-proxy's Service chains read back from a node's kernel, with their packet counters.

`read_nat_rules(netns)` runs `iptables-save -c -t nat` inside the node's namespace (the rules
kube-proxy wrote there, upstream's chain names) and `parse_iptables_save` (pure) turns the text
into `NatRule`s: chain, packet and byte counters, target, comment, destination, port, the
`statistic` probability and the DNAT `--to-destination`. `service_paths` (pure) follows the
jumps KUBE-SERVICES -> KUBE-SVC-<hash> -> KUBE-SEP-<hash> -> DNAT and returns one
`ServicePath` per Service port with its endpoints, the probability each is picked with and the
packets its DNAT rule has rewritten. In the nat table only the *first* packet of a connection
is seen (conntrack handles the rest), so a DNAT rule's packet counter is the number of
connections that endpoint was chosen for.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from nodelab.host.commands import run
from nodelab.host.netlink import in_netns_argv

_COUNTERS = re.compile(r"^\[(\d+):(\d+)\]\s+(.*)$")


@dataclass(frozen=True)
class NatRule:
    chain: str
    packets: int
    bytes: int
    target: str
    comment: str = ""
    destination: str = ""
    dport: str = ""
    probability: float | None = None
    to_destination: str = ""
    text: str = ""


@dataclass(frozen=True)
class EndpointPath:
    chain: str
    """KUBE-SEP-<hash>"""
    destination: str
    """ip:port the DNAT rewrites to"""
    probability: float
    """the chance this endpoint is picked for a new connection"""
    packets: int
    """connections DNATed to it so far (the DNAT rule's packet counter)"""


@dataclass(frozen=True)
class ServicePath:
    name: str
    """the service port as kube-proxy comments it (`ns/name:port`)"""
    address: str
    """`ip:port`, or `nodePort N`"""
    chain: str
    """KUBE-SVC-<hash> (or KUBE-EXT-<hash>)"""
    packets: int
    """packets that matched the jump into the service chain"""
    endpoints: tuple[EndpointPath, ...]


def _option(words: list[str], flag: str) -> str:
    return words[words.index(flag) + 1] if flag in words[:-1] else ""


def parse_iptables_save(text: str) -> tuple[NatRule, ...]:
    """The `-A` rules of an `iptables-save -c` dump (every table in it, in order)."""
    rules = []
    for line in text.splitlines():
        match = _COUNTERS.match(line.strip())
        if not match or not match.group(3).startswith("-A "):
            continue
        words = shlex.split(match.group(3))
        probability = _option(words, "--probability")
        rules.append(NatRule(
            chain=words[1],
            packets=int(match.group(1)),
            bytes=int(match.group(2)),
            target=_option(words, "-j"),
            comment=_option(words, "--comment"),
            destination=_option(words, "-d").removesuffix("/32"),
            dport=_option(words, "--dport"),
            probability=float(probability) if probability else None,
            to_destination=_option(words, "--to-destination"),
            text=match.group(3),
        ))
    return tuple(rules)


def service_paths(rules: tuple[NatRule, ...]) -> tuple[ServicePath, ...]:
    """Follow KUBE-SERVICES (and KUBE-NODEPORTS) to each endpoint's DNAT (pure)."""
    by_chain: dict[str, list[NatRule]] = {}
    for rule in rules:
        by_chain.setdefault(rule.chain, []).append(rule)
    paths = []
    entries = [(r, f"{r.destination}:{r.dport}") for r in by_chain.get("KUBE-SERVICES", [])
               if r.target.startswith("KUBE-SVC-")]
    entries += [(r, f"nodePort {r.dport}") for r in by_chain.get("KUBE-NODEPORTS", [])
                if r.target.startswith(("KUBE-EXT-", "KUBE-SVC-"))]
    for entry, address in entries:
        endpoints = []
        remaining = 1.0
        chain = entry.target
        hops = [r for r in by_chain.get(chain, []) if r.target.startswith("KUBE-SVC-")]
        service_chain = hops[0].target if chain.startswith("KUBE-EXT-") and hops else chain
        for rule in by_chain.get(service_chain, []):
            if not rule.target.startswith("KUBE-SEP-"):
                continue
            share = remaining * (rule.probability if rule.probability is not None else 1.0)
            remaining -= share
            dnat = next((r for r in by_chain.get(rule.target, []) if r.target == "DNAT"), None)
            endpoints.append(EndpointPath(
                chain=rule.target,
                destination=dnat.to_destination if dnat else "?",
                probability=round(share, 4),
                packets=dnat.packets if dnat else 0,
            ))
        name = entry.comment.removesuffix(" cluster IP").removesuffix(" nodePort") or chain
        paths.append(ServicePath(name, address, chain, entry.packets, tuple(endpoints)))
    return tuple(paths)


def read_nat_rules(netns: str | None) -> tuple[NatRule, ...]:
    """The nat table of `netns` (None: this namespace) with counters."""
    output = run(in_netns_argv(netns, ["iptables-save", "-c", "-t", "nat"])).stdout
    return parse_iptables_save(output)
