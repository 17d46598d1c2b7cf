"""The columns `kubectl get` shows for networking.k8s.io's kinds (upstream's printNetworkPolicy,
printIngress and printIngressClass), merged into `printers.PRINTERS`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.controlplane.http.printers.cells import object_age as _age
from nodelab.controlplane.http.printers.cells import object_name as _name
from nodelab.kube.label_selectors import selector_text
from nodelab.kube.objects import Object

S = "string"


def _network_policy_row(obj: Object) -> list[Any]:
    return [_name(obj), selector_text((obj.get("spec") or {}).get("podSelector") or {}),
            _age(obj)]


def _ingress_row(obj: Object) -> list[Any]:
    """Class, at most three hosts (`*` for none), the load balancer's addresses (sorted, as
    the server prints them wide: no truncation), and 80 (with TLS: 80, 443)."""
    spec = obj.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [str(r.get("host")) for r in rules[:3] if r.get("host")]
    shown = ",".join(hosts) or "*"
    if len(rules) > 3:
        shown = f"{shown} + {len(rules) - 3} more..."
    balancer = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = sorted({str(e.get("ip") or e.get("hostname")) for e in balancer
                        if e.get("ip") or e.get("hostname")})
    return [_name(obj), spec.get("ingressClassName") or "<none>", shown, ",".join(addresses),
            "80, 443" if spec.get("tls") else "80", _age(obj)]


def _ingress_class_row(obj: Object) -> list[Any]:
    spec = obj.get("spec") or {}
    parameters = spec.get("parameters")
    shown = "<none>"
    if isinstance(parameters, dict):
        group = f".{parameters['apiGroup']}" if parameters.get("apiGroup") is not None else ""
        shown = f"{parameters.get('kind', '')}{group}/{parameters.get('name', '')}"
    return [_name(obj), spec.get("controller", ""), shown, _age(obj)]


NETWORKING_PRINTERS: dict[str, tuple[list[tuple[str, str, int]], Callable[[Object], list[Any]]]] = {
    "networking.k8s.io/networkpolicies": (
        [("Name", S, 0), ("Pod-Selector", S, 0), ("Age", S, 0)], _network_policy_row),
    "networking.k8s.io/ingresses": (
        [("Name", S, 0), ("Class", S, 0), ("Hosts", S, 0), ("Address", S, 0), ("Ports", S, 0),
         ("Age", S, 0)], _ingress_row),
    "networking.k8s.io/ingressclasses": (
        [("Name", S, 0), ("Controller", S, 0), ("Parameters", S, 0), ("Age", S, 0)],
        _ingress_class_row),
}
