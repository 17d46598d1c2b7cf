"""NetworkPolicy validation (networking.k8s.io/v1), as upstream's ValidateNetworkPolicySpec:
the pod selector, each rule's ports (protocol, port number or name, endPort only after a
numeric port) and peers (a pod selector, a namespace selector or both, or an ipBlock alone,
whose `except` entries are strict subsets of its `cidr`), and at most Ingress and Egress as
policy types. On update, a CIDR the old policy already held is not checked again (upstream's
AllowCIDRsEvenIfInvalid).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.label_selectors import label_selector
from nodelab.kube.addresses import VALID_CIDR, IPNetwork
from nodelab.kube.objects import Object

POLICY_TYPES = ("Ingress", "Egress")


def parse_block_cidr(text: Any) -> IPNetwork | None:
    """An ipBlock CIDR as upstream reads this legacy field (ParseCIDRSloppy: host bits may be
    set, `10.0.0.1/24` is 10.0.0.0/24; StrictIPCIDRValidation is alpha and off in 1.37)."""
    if not isinstance(text, str) or "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _cidr(errors: FieldErrors, path: str, text: Any, known: Collection[str]) -> IPNetwork | None:
    network = parse_block_cidr(text)
    if network is None and text not in known:
        errors.invalid(path, text, VALID_CIDR)
    return network


def _port(errors: FieldErrors, path: str, port: Any) -> None:
    port = port if isinstance(port, dict) else {}
    protocol = port.get("protocol")
    if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
        errors.unsupported(f"{path}.protocol", protocol, ["TCP", "UDP", "SCTP"])
    number, end = port.get("port"), port.get("endPort")
    if number is None:
        if end is not None:
            errors.invalid(f"{path}.endPort", end, "may not be specified when `port` is not "
                           "specified")
    elif isinstance(number, int) and not isinstance(number, bool):
        errors.port(f"{path}.port", number)
        if end is not None:
            if isinstance(end, int) and end < number:
                errors.invalid(f"{path}.endPort", end, "must be greater than or equal to `port`")
            errors.port(f"{path}.endPort", end)
    else:
        if end is not None:
            errors.invalid(f"{path}.endPort", end, "may not be specified when `port` is "
                           "non-numeric")
        errors.port_name(f"{path}.port", number)


def _ip_block(errors: FieldErrors, path: str, block: Any, known: Collection[str]) -> None:
    block = block if isinstance(block, dict) else {}
    cidr = block.get("cidr") or ""
    if not cidr:
        errors.required(f"{path}.cidr")
        return
    outer = _cidr(errors, f"{path}.cidr", cidr, known)
    if outer is None:
        return
    for i, text in enumerate(block.get("except") or []):
        where = f"{path}.except[{i}]"
        inner = _cidr(errors, where, text, known)
        if inner is None:
            continue
        if (inner.version != outer.version or inner.network_address not in outer
                or outer.prefixlen >= inner.prefixlen):
            errors.invalid(where, text, "must be a strict subset of `cidr`")


def _peer(errors: FieldErrors, path: str, peer: Any, known: Collection[str]) -> None:
    peer = peer if isinstance(peer, dict) else {}
    present = [key for key in ("podSelector", "namespaceSelector", "ipBlock")
               if peer.get(key) is not None]
    for key in ("podSelector", "namespaceSelector"):
        label_selector(errors, f"{path}.{key}", peer.get(key))
    if "ipBlock" in present:
        _ip_block(errors, f"{path}.ipBlock", peer["ipBlock"], known)
    if not present:
        errors.required(path, "must specify a peer")
    elif len(present) > 1 and "ipBlock" in present:
        errors.forbidden(path, "may not specify both ipBlock and another peer")


def _spec(errors: FieldErrors, spec: Object, known: Collection[str]) -> None:
    label_selector(errors, "spec.podSelector", spec.get("podSelector") or {})
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction) or []):
            rule = rule if isinstance(rule, dict) else {}
            for j, port in enumerate(rule.get("ports") or []):
                _port(errors, f"spec.{direction}[{i}].ports[{j}]", port)
            for j, peer in enumerate(rule.get(peers) or []):
                _peer(errors, f"spec.{direction}[{i}].{peers}[{j}]", peer, known)
    types = spec.get("policyTypes") or []
    if len(types) > len(POLICY_TYPES):
        errors.invalid("spec.policyTypes", types, "may not specify more than two policyTypes")
        return
    for i, kind in enumerate(types):
        if kind not in POLICY_TYPES:
            errors.unsupported(f"spec.policyTypes[{i}]", kind, list(POLICY_TYPES))


def policy_cidrs(policy: Object | None) -> set[str]:
    """Every ipBlock `cidr` and `except` value of a policy (what an update may keep as is)."""
    spec = (policy or {}).get("spec") or {}
    found: set[str] = set()
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            for peer in (rule or {}).get(peers) or []:
                block = (peer or {}).get("ipBlock")
                if isinstance(block, dict):
                    found.add(str(block.get("cidr") or ""))
                    found.update(str(e) for e in block.get("except") or [])
    return found


def validate_networkpolicy(errors: FieldErrors, obj: Object, old: Object | None) -> None:
    spec = obj.get("spec")
    _spec(errors, spec if isinstance(spec, dict) else {}, policy_cidrs(old))

