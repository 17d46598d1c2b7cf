"""The CNI result (spec 0.3.0 to 1.1.0 shape) as typed data, with its validation.

    {"cniVersion": "1.0.0",
     "interfaces": [{"name": "cni0", "mac": "..."}, {"name": "veth1a2b3c4d", "mac": "..."},
                    {"name": "eth0", "mac": "...", "sandbox": "/var/run/netns/x"}],
     "ips": [{"address": "10.244.0.5/24", "gateway": "10.244.0.1", "interface": 2}],
     "routes": [{"dst": "0.0.0.0/0", "gw": "10.244.0.1"}],
     "dns": {}}

Plugins build a `Result`, the skeleton prints `to_json(version)`; the invoker parses what any
plugin printed with `Result.from_json`, which is also the validation libcni does: addresses are
CIDRs, gateways are IPs, interface indexes point into `interfaces`. A result that fails it is a
plugin bug reported as CNIError code 6 (the runtime could not decode it).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from nodelab.cni.errors import DECODING_FAILURE, CNIError


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str = ""
    mtu: int = 0
    sandbox: str = ""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name}
        if self.mac:
            body["mac"] = self.mac
        if self.mtu:
            body["mtu"] = self.mtu
        if self.sandbox:
            body["sandbox"] = self.sandbox
        return body


@dataclass(frozen=True)
class IPConfig:
    address: str
    gateway: str = ""
    interface: int | None = None

    @property
    def interface_address(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        return ipaddress.ip_interface(self.address)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.interface is not None:
            body["interface"] = self.interface
        body["address"] = self.address
        if self.gateway:
            body["gateway"] = self.gateway
        return body


@dataclass(frozen=True)
class Route:
    dst: str
    gw: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"dst": self.dst, "gw": self.gw} if self.gw else {"dst": self.dst}


@dataclass(frozen=True)
class Result:
    cni_version: str
    interfaces: tuple[Interface, ...] = ()
    ips: tuple[IPConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    dns: dict[str, Any] = field(default_factory=dict)

    def to_json(self, cni_version: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"cniVersion": cni_version or self.cni_version}
        if self.interfaces:
            body["interfaces"] = [i.to_json() for i in self.interfaces]
        if self.ips:
            body["ips"] = [ip.to_json() for ip in self.ips]
        if self.routes:
            body["routes"] = [r.to_json() for r in self.routes]
        body["dns"] = dict(self.dns)
        return body

    def sandbox_ips(self) -> list[IPConfig]:
        """The IPs that belong to an interface inside the sandbox (what portmap targets)."""
        found = []
        for ip in self.ips:
            if ip.interface is None or not 0 <= ip.interface < len(self.interfaces):
                continue
            if self.interfaces[ip.interface].sandbox:
                found.append(ip)
        return found

    @classmethod
    def from_json(cls, body: object, *, source: str = "result") -> Result:
        """Parse and validate a result; raise CNIError code 6 on anything malformed."""
        try:
            return _parse(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise CNIError(DECODING_FAILURE, f"invalid CNI {source}", str(exc)) from exc


def _parse(body: object) -> Result:
    if not isinstance(body, dict):
        raise TypeError("a result must be a JSON object")
    interfaces = tuple(
        Interface(
            name=str(i["name"]),
            mac=str(i.get("mac", "")),
            mtu=int(i.get("mtu", 0)),
            sandbox=str(i.get("sandbox", "")),
        )
        for i in body.get("interfaces") or []
    )
    ips = []
    for ip in body.get("ips") or []:
        ipaddress.ip_interface(ip["address"])
        if "/" not in ip["address"]:
            raise ValueError(f"address {ip['address']!r} is not a CIDR")
        if ip.get("gateway"):
            ipaddress.ip_address(ip["gateway"])
        index = ip.get("interface")
        if index is not None and not 0 <= int(index) < len(interfaces):
            raise ValueError(f"ip {ip['address']} names interface {index}, which is not listed")
        ips.append(
            IPConfig(
                str(ip["address"]),
                str(ip.get("gateway", "")),
                None if index is None else int(index),
            )
        )
    routes = []
    for route in body.get("routes") or []:
        ipaddress.ip_network(route["dst"], strict=False)
        if route.get("gw"):
            ipaddress.ip_address(route["gw"])
        routes.append(Route(str(route["dst"]), str(route.get("gw", ""))))
    dns = body.get("dns") or {}
    if not isinstance(dns, dict):
        raise TypeError("dns must be an object")
    return Result(
        cni_version=str(body.get("cniVersion", "")),
        interfaces=interfaces,
        ips=tuple(ips),
        routes=tuple(routes),
        dns=dict(dns),
    )
