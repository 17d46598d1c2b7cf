"""IP addresses and CIDRs as the Kubernetes API accepts them, parsed strictly.

Addresses from API objects end up inside rule payloads (`iptables-restore` input, nft scripts) and
commands, so "parses as an address" has to mean exactly Go's `net.ParseIP` / `net.ParseCIDR`:
ASCII digits, dots, hex and colons, nothing else. Python's `ipaddress` is close but accepts an
IPv6 zone (`fe80::1%anything`, where *anything* may hold a newline and a `COMMIT`) and values that
are not strings at all; `parse_ip` and `parse_cidr` refuse both, and also IPv4 octets with leading
zeros (as Kubernetes' own validation does since 1.33).

`non_special_ip_problems` is upstream's `ValidateNonSpecialIP` (externalIPs, endpoint addresses):
no unspecified, loopback, link-local or link-local multicast address.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_IP_CHARS = re.compile(r"^[0-9A-Fa-f.:]+$")
VALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
VALID_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def parse_ip(value: Any) -> IPAddress | None:
    """The address `value` names, or None unless it is exactly an IP address string."""
    if not isinstance(value, str) or not _IP_CHARS.match(value):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def parse_cidr(value: Any) -> IPNetwork | None:
    """The network `value` names (`a.b.c.d/n`, host bits allowed as Go's ParseCIDR), or None."""
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    address, _, prefix = value.partition("/")
    if parse_ip(address) is None or not prefix.isascii() or not prefix.isdigit():
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def non_special_ip_problems(value: Any) -> list[str]:
    """Upstream's ValidateNonSpecialIP messages for `value` (empty when it is fine)."""
    address = parse_ip(value)
    if address is None:
        return ["must be a valid IP address"]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # Go's net.IP treats ::ffff:a.b.c.d as IPv4
    problems = []
    if address.is_unspecified:
        problems.append(f"may not be unspecified ({value})")
    if address.is_loopback:
        problems.append("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    if address.is_link_local and not address.is_multicast:
        problems.append("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if _link_local_multicast(address):
        problems.append("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    return problems


def _link_local_multicast(address: IPAddress) -> bool:
    """Go's IsLinkLocalMulticast: 224.0.0.0/24, or ff02::/16 with any multicast flags."""
    packed = address.packed
    if address.version == 4:
        return packed[:3] == bytes([224, 0, 0])
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02
