"""The Kubernetes CEL IP and CIDR libraries (k8s.io/apiserver/pkg/cel/library `ip.go`,
`cidr.go`):

    ip('10.0.0.1'), isIP(s), ip.isCanonical(s), string(ip), ip.family() (4 or 6),
    ip.isUnspecified(), isLoopback(), isLinkLocalMulticast(), isLinkLocalUnicast(),
    isGlobalUnicast() (Go's net/netip meanings: any unicast address that is not loopback,
    link-local or the IPv4 broadcast, private ranges included);
    cidr('10.0.0.0/8'), isCIDR(s), cidr.containsIP(ip or string),
    cidr.containsCIDR(cidr or string), cidr.ip(), cidr.masked(), cidr.prefixLength().

Not `string(cidr)`: cel-cpp registers functions by the kinds of their arguments, and both IP
and CIDR are protobuf messages to it, so a second `string` of a message collides (also with
no implementation of its own); such a rule is refused when its CRD is written ("found no
matching overload for 'string' applied to '(net.CIDR)': string() of a CIDR is not supported
by nodelab ...", `rules.cel_error`).

As upstream, an address with a zone (`fe80::1%eth0`) or an IPv4-mapped IPv6 address
(`::ffff:1.2.3.4`) is not accepted, and a value that does not parse is an evaluation error
naming it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nodelab.controlplane.apiextensions.cel.opaque import Kinds

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(raw: str) -> Address:
    if "%" in raw:
        raise ValueError(f"IP address {_go_quote(raw)} with zone value is not allowed")
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        raise ValueError(f"IP Address {_go_quote(raw)} parse error during conversion from "
                         f"string: ParseAddr({_go_quote(raw)}): unable to parse IP") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {_go_quote(raw)} is not allowed")
    return address


def parse_cidr(raw: str) -> tuple[Address, int]:
    """The address as written and the prefix length of a CIDR (`netip.ParsePrefix`)."""
    text, slash, bits = raw.partition("/")
    problem = f"network address parse error during conversion from string: " \
              f"netip.ParsePrefix({_go_quote(raw)}): "
    if not slash:
        raise ValueError(problem + "no '/'")
    if "%" in text:
        raise ValueError(problem + "IPv6 zones cannot be present in a prefix")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(problem + f"ParseAddr({_go_quote(text)}): unable to parse IP") from None
    if not bits.isdigit() or (len(bits) > 1 and bits[0] == "0") or int(
            bits) > address.max_prefixlen:
        raise ValueError(problem + f"bad bits after slash: {_go_quote(bits)}")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {_go_quote(raw)} is not allowed")
    return address, int(bits)


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _network(address: Address, bits: int) -> Network:
    return ipaddress.ip_network(f"{address}/{bits}", strict=False)


def _is_ip(raw: str) -> bool:
    try:
        parse_ip(raw)
    except ValueError:
        return False
    return True


def _is_cidr(raw: str) -> bool:
    try:
        parse_cidr(raw)
    except ValueError:
        return False
    return True


def _global_unicast(address: Address) -> bool:
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return False
    if address.is_link_local:
        return False
    return not (isinstance(address, ipaddress.IPv4Address)
                and address == ipaddress.IPv4Address("255.255.255.255"))


def _link_local_multicast(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.IPv4Network("224.0.0.0/24")
    return address.is_multicast and (address.packed[1] & 0x0F) == 0x02


def declarations(cel: Any, kinds: Kinds) -> list[Any]:
    T = cel.Type

    def ip(value: Any) -> Address:
        return parse_ip(value.value)

    def cidr(value: Any) -> tuple[Address, int]:
        return parse_cidr(value.value)

    def new_ip(address: Address) -> Any:
        return kinds.IP(value=str(address))

    def new_cidr(address: Address, bits: int) -> Any:
        return kinds.CIDR(value=f"{address}/{bits}")

    def contains_ip(net: Any, other: Any) -> bool:
        address, bits = cidr(net)
        target = parse_ip(other) if isinstance(other, str) else ip(other)
        return target.version == address.version and target in _network(address, bits)

    def contains_cidr(net: Any, other: Any) -> bool:
        address, bits = cidr(net)
        inner, inner_bits = parse_cidr(other) if isinstance(other, str) else cidr(other)
        return (inner.version == address.version and bits <= inner_bits
                and _network(inner, inner_bits).subnet_of(_network(address, bits)))  # type: ignore[arg-type]

    def member(name: str, oid: str, ret: Any, params: list[Any], fn: Any) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, is_member=True, impl=fn)])

    def global_(name: str, overloads: list[tuple[str, Any, list[Any], Any]]) -> Any:
        return cel.FunctionDecl(name, [cel.Overload(oid, ret, params, impl=fn)
                                       for oid, ret, params, fn in overloads])

    return [
        cel.FunctionDecl("ip", [
            cel.Overload("string_to_ip", kinds.ip, [T.STRING],
                         impl=lambda s: new_ip(parse_ip(s))),
            cel.Overload("cidr_ip", kinds.ip, [kinds.cidr], is_member=True,
                         impl=lambda c: new_ip(cidr(c)[0]))]),
        global_("isIP", [("is_ip", T.BOOL, [T.STRING], _is_ip)]),
        global_("ip.isCanonical", [("ip_is_canonical", T.BOOL, [T.STRING],
                                    lambda s: str(parse_ip(s)) == s)]),
        global_("string", [("ip_to_string", T.STRING, [kinds.ip], lambda v: str(ip(v)))]),
        member("family", "ip_family", T.INT, [kinds.ip], lambda v: ip(v).version),
        member("isUnspecified", "ip_is_unspecified", T.BOOL, [kinds.ip],
               lambda v: ip(v).is_unspecified),
        member("isLoopback", "ip_is_loopback", T.BOOL, [kinds.ip], lambda v: ip(v).is_loopback),
        member("isLinkLocalMulticast", "ip_is_link_local_multicast", T.BOOL, [kinds.ip],
               lambda v: _link_local_multicast(ip(v))),
        member("isLinkLocalUnicast", "ip_is_link_local_unicast", T.BOOL, [kinds.ip],
               lambda v: ip(v).is_link_local and not ip(v).is_multicast),
        member("isGlobalUnicast", "ip_is_global_unicast", T.BOOL, [kinds.ip],
               lambda v: _global_unicast(ip(v))),
        global_("cidr", [("string_to_cidr", kinds.cidr, [T.STRING],
                          lambda s: new_cidr(*parse_cidr(s)))]),
        global_("isCIDR", [("is_cidr", T.BOOL, [T.STRING], _is_cidr)]),
        cel.FunctionDecl("containsIP", [
            cel.Overload("cidr_contains_ip_string", T.BOOL, [kinds.cidr, T.STRING],
                         is_member=True, impl=contains_ip),
            cel.Overload("cidr_contains_ip_ip", T.BOOL, [kinds.cidr, kinds.ip],
                         is_member=True, impl=contains_ip)]),
        cel.FunctionDecl("containsCIDR", [
            cel.Overload("cidr_contains_cidr_string", T.BOOL, [kinds.cidr, T.STRING],
                         is_member=True, impl=contains_cidr),
            cel.Overload("cidr_contains_cidr", T.BOOL, [kinds.cidr, kinds.cidr],
                         is_member=True, impl=contains_cidr)]),
        member("masked", "cidr_masked", kinds.cidr, [kinds.cidr],
               lambda c: new_cidr(_network(*cidr(c)).network_address, cidr(c)[1])),
        member("prefixLength", "cidr_prefix_length", T.INT, [kinds.cidr], lambda c: cidr(c)[1]),
    ]
