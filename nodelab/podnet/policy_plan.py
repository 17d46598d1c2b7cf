"""Which traffic each of this node's pods may send and receive, from the NetworkPolicies.

The semantics are upstream's (the "Network Policies" concept page, networking/v1's types and the
e2e netpol suite):

- a pod is *selected* by a policy of its own namespace whose `podSelector` matches its labels
  (`{}` selects every pod of the namespace); a pod no policy selects for a direction is not
  isolated in that direction: everything is allowed;
- a selected pod is isolated for ingress when a selecting policy lists `Ingress` in
  `policyTypes`, for egress when one lists `Egress`; an isolated pod gets only what at least one
  rule of those policies allows (policies are additive; a policy with no rules denies all);
- a rule allows when one of its peers matches (no `from`/`to`: any address) and one of its ports
  matches (no `ports`: any port and protocol); a peer is a `podSelector` (pods of the policy's
  namespace), a `namespaceSelector` (every pod of the matching namespaces), both (the pods that
  match it in the matching namespaces) or an `ipBlock` (its `cidr` minus each `except`);
- a port is a protocol (TCP when omitted) and a number, a range (`port` to `endPort`) or a
  container port's name, resolved on the pod that receives the traffic (the policy's pod for
  ingress, each peer pod for egress; a name no container has matches nothing);
- replies of an allowed connection are always allowed, and so is the node's own traffic to and
  from its pods (the node's probes), as every CNI plugin does it.

A node enforces the ingress rules of its own pods and the egress rules of its own pods, so
a connection between pods on two nodes is checked once on each side. The plan is data
(`PodRules` per isolated pod and direction); `allows` answers "would this packet pass?" from
the same data the ruleset is written from (`policy_ruleset.py`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import Object

INGRESS, EGRESS = "Ingress", "Egress"


@dataclass(frozen=True)
class PodFacts:
    """What the plan reads of a pod: where it is, its labels, its address, its named ports."""

    namespace: str
    name: str
    node: str
    ip: ipaddress.IPv4Address
    labels: Mapping[str, str]
    ports: tuple[tuple[str, str, int], ...]  # (name, protocol, containerPort)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str) -> int | None:
        return next((number for port_name, port_protocol, number in self.ports
                     if port_name == name and port_protocol == protocol), None)


@dataclass(frozen=True)
class Peer:
    """An address range traffic may come from (ingress) or go to (egress)."""

    network: ipaddress.IPv4Network
    excepts: tuple[ipaddress.IPv4Network, ...] = ()

    def contains(self, address: ipaddress.IPv4Address) -> bool:
        return address in self.network and not any(address in e for e in self.excepts)


@dataclass(frozen=True)
class Ports:
    """A protocol (None: any) and a port range (None: any port of it)."""

    protocol: str | None = None
    first: int | None = None
    last: int | None = None

    def contains(self, protocol: str, port: int) -> bool:
        if self.protocol is not None and self.protocol != protocol:
            return False
        return self.first is None or self.first <= port <= (self.last or self.first)


@dataclass(frozen=True)
class Allow:
    """One thing a rule allows: traffic from/to `peers` on `ports`; `source` names the rule."""

    peers: tuple[Peer, ...]  # empty: any address
    ports: Ports
    source: str  # "<namespace>/<policy> ingress[0]"

    def matches(self, address: ipaddress.IPv4Address, protocol: str, port: int) -> bool:
        return ((not self.peers or any(p.contains(address) for p in self.peers))
                and self.ports.contains(protocol, port))


@dataclass(frozen=True)
class PodRules:
    """An isolated pod of this node, in one direction: what may pass (nothing else does)."""

    pod: str  # namespace/name
    ip: ipaddress.IPv4Address
    direction: str  # Ingress or Egress
    allows: tuple[Allow, ...]
    policies: tuple[str, ...]  # the selecting policies, namespace/name


def pod_facts(pod: Object) -> PodFacts | None:
    """A pod the policies can match by address (None: no IPv4 address yet, host network, or
    finished, whose address may already be another pod's)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in ("Succeeded", "Failed"):
        return None
    try:
        ip = ipaddress.IPv4Address(status.get("podIP") or "")
    except ValueError:
        return None
    ports = tuple((str(p["name"]), str(p.get("protocol") or "TCP"), int(p["containerPort"]))
                  for c in spec.get("containers") or [] for p in c.get("ports") or []
                  if p.get("name") and p.get("containerPort"))
    return PodFacts(str(meta.get("namespace") or "default"), str(meta.get("name") or ""),
                    str(spec.get("nodeName") or ""), ip, meta.get("labels") or {}, ports)


def _types(policy: Object) -> list[str]:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return [INGRESS, EGRESS] if spec.get("egress") else [INGRESS]  # as the API server defaults


def selects(policy: Object, pod: PodFacts) -> bool:
    meta = policy.get("metadata") or {}
    return ((meta.get("namespace") or "default") == pod.namespace
            and selector_matches((policy.get("spec") or {}).get("podSelector") or {}, pod.labels))


def _network(text: str) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return network if isinstance(network, ipaddress.IPv4Network) else None


def _peer_pods(peer: Mapping[str, Any], namespace: str, pods: Sequence[PodFacts],
               namespace_labels: Mapping[str, Mapping[str, str]]) -> list[PodFacts]:
    pod_selector, ns_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    found = []
    for pod in pods:
        if ns_selector is None:
            in_scope = pod.namespace == namespace
        else:
            in_scope = selector_matches(ns_selector, namespace_labels.get(pod.namespace, {}))
        if in_scope and (pod_selector is None or selector_matches(pod_selector, pod.labels)):
            found.append(pod)
    return found


def _ip_block(peer: Mapping[str, Any]) -> Peer | None:
    block = peer.get("ipBlock") or {}
    network = _network(str(block.get("cidr") or ""))
    if network is None:  # an IPv6 block: no IPv6 pod network here, it matches nothing
        return None
    excepts = tuple(n for n in (_network(str(e)) for e in block.get("except") or [])
                    if n is not None)
    return Peer(network, excepts)


PROTOCOLS = ("TCP", "UDP", "SCTP")


def _port_specs(rule: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """A rule's ports as (protocol, port, endPort); one catch-all when it lists none. A
    protocol the API does not allow (only a foreign API server could send one) matches
    nothing, so it is left out."""
    ports = rule.get("ports") or []
    if not ports:
        return [("", None, None)]
    specs = [(str(p.get("protocol") or "TCP"), p.get("port"), p.get("endPort"))
             for p in ports if isinstance(p, dict)]
    return [spec for spec in specs if spec[0] in PROTOCOLS]


def _numeric(protocol: str, port: Any, end: Any) -> Ports | None:
    """A numeric port or range (None: not a valid one, which matches nothing)."""
    if port is None:
        return Ports(protocol or None)
    try:
        first, last = int(port), int(end) if end is not None else None
    except (TypeError, ValueError):
        return None
    if not 0 < first <= 65535 or (last is not None and not first <= last <= 65535):
        return None
    return Ports(protocol, first, last)


def _rule_allows(policy: Object, index: int, rule: Mapping[str, Any], direction: str,
                 target: PodFacts, pods: Sequence[PodFacts],
                 namespace_labels: Mapping[str, Mapping[str, str]]) -> list[Allow]:
    meta = policy.get("metadata") or {}
    namespace = str(meta.get("namespace") or "default")
    source = f"{namespace}/{meta.get('name', '')} {direction.lower()}[{index}]"
    peers_key = "from" if direction == INGRESS else "to"
    raw_peers = rule.get(peers_key) or []
    # the peers as address ranges, and the pods behind them (for names resolved on peers)
    ranges: list[Peer] = []
    peer_pods: list[PodFacts] = []
    for peer in raw_peers:
        if peer.get("ipBlock") is not None:
            block = _ip_block(peer)
            if block is not None:
                ranges.append(block)
                peer_pods.extend(p for p in pods if block.contains(p.ip))
        else:
            for pod in _peer_pods(peer, namespace, pods, namespace_labels):
                ranges.append(Peer(ipaddress.IPv4Network(pod.ip)))
                peer_pods.append(pod)
    if raw_peers and not ranges:
        return []  # its peers match no address: the rule allows nothing
    peers = tuple(dict.fromkeys(ranges))
    allows: list[Allow] = []
    for protocol, port, end in _port_specs(rule):
        if not isinstance(port, str):
            numeric = _numeric(protocol, port, end)
            if numeric is not None:
                allows.append(Allow(peers, numeric, source))
        elif direction == INGRESS:  # a name is resolved on the receiving pod: this one
            number = target.named_port(port, protocol)
            if number is not None:
                allows.append(Allow(peers, Ports(protocol, number), source))
        else:  # on each receiving peer pod (every pod of the cluster when `to` is empty)
            receivers = peer_pods if raw_peers else list(pods)
            by_port: dict[int, list[Peer]] = {}
            for pod in {p.key: p for p in receivers}.values():
                number = pod.named_port(port, protocol)
                if number is not None:
                    by_port.setdefault(number, []).append(Peer(ipaddress.IPv4Network(pod.ip)))
            for number, receiving in sorted(by_port.items()):
                allows.append(Allow(tuple(receiving), Ports(protocol, number), source))
    return allows


def plan_pod_rules(node: str, policies: Iterable[Object], pods: Iterable[Object],
                   namespaces: Iterable[Object]) -> list[PodRules]:
    """Every isolated pod of `node`, per direction, with what its policies allow."""
    facts = sorted((f for f in (pod_facts(p) for p in pods) if f is not None),
                   key=lambda f: (f.namespace, f.name))
    namespace_labels = {str((n.get("metadata") or {}).get("name")):
                        (n.get("metadata") or {}).get("labels") or {} for n in namespaces}
    ordered = sorted(policies, key=lambda p: ((p.get("metadata") or {}).get("namespace", ""),
                                              (p.get("metadata") or {}).get("name", "")))
    plan = []
    for target in facts:
        if target.node != node:
            continue
        for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
            selecting = [p for p in ordered if selects(p, target) and direction in _types(p)]
            if not selecting:
                continue
            allows = []
            for policy in selecting:
                for index, rule in enumerate((policy.get("spec") or {}).get(key) or []):
                    allows.extend(_rule_allows(policy, index, rule or {}, direction, target,
                                               facts, namespace_labels))
            names = tuple(f"{(p.get('metadata') or {}).get('namespace', 'default')}/"
                          f"{(p.get('metadata') or {}).get('name', '')}" for p in selecting)
            plan.append(PodRules(target.key, target.ip, direction, tuple(allows), names))
    return plan


def allows(plan: Sequence[PodRules], source: ipaddress.IPv4Address,
           destination: ipaddress.IPv4Address, protocol: str, port: int) -> bool:
    """Whether this node passes the first packet of a connection (replies always pass): the
    sender's egress rules, then the receiver's ingress rules, where they are this node's."""
    for rules in plan:
        if rules.direction == EGRESS and rules.ip == source and not any(
                a.matches(destination, protocol, port) for a in rules.allows):
            return False
        if rules.direction == INGRESS and rules.ip == destination and not any(
                a.matches(source, protocol, port) for a in rules.allows):
            return False
    return True
