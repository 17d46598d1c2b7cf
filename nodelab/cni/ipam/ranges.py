"""host-local's address ranges, parsed from the `ipam` section (pure).

    "ipam": {"type": "host-local",
             "ranges": [[{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.10",
                          "rangeEnd": "10.244.1.200", "gateway": "10.244.1.1"}],
                        [{"subnet": "fd00:10:244:1::/64"}]],
             "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "/var/lib/cni/networks"}

`ranges` is a list of *range sets*; ADD hands out one address from each set (so a set per IP
family gives a dual-stack pod). Within a set, ranges are tried in order. The legacy single-range
form (`subnet`, `rangeStart`, `rangeEnd`, `gateway` directly in `ipam`) is one set of one range.

Defaults follow the reference plugin: the range starts after the network address, ends before
the IPv4 broadcast address, and the gateway is the first address. The gateway is never handed
out. Any inconsistency is CNIError code 7 (invalid network config).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nodelab.cni.errors import INVALID_NETWORK_CONFIG, CNIError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Range:
    subnet: IPNetwork
    start: IPAddress
    end: IPAddress
    gateway: IPAddress | None

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address))
            and address.version == self.subnet.version
            and int(self.start) <= int(address) <= int(self.end)
        )

    def addresses_from(self, first: IPAddress) -> Iterator[IPAddress]:
        """Addresses of this range from `first` (inclusive) to the end, gateway skipped."""
        address = int(max(first, self.start, key=int))
        family = type(self.start)
        while address <= int(self.end):
            candidate = family(address)
            if candidate != self.gateway:
                yield candidate
            address += 1


RangeSet = tuple[Range, ...]


def _address(value: object, what: str) -> IPAddress:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError as exc:
        raise CNIError(INVALID_NETWORK_CONFIG, f"host-local: invalid {what} {value!r}") from exc


def parse_range(raw: dict[str, Any]) -> Range:
    try:
        subnet = ipaddress.ip_network(str(raw["subnet"]), strict=False)
    except (KeyError, ValueError) as exc:
        raise CNIError(
            INVALID_NETWORK_CONFIG, f"host-local: range needs a valid subnet, got {raw!r}"
        ) from exc
    if subnet.num_addresses < 4 and subnet.version == 4:
        raise CNIError(INVALID_NETWORK_CONFIG, f"host-local: subnet {subnet} is too small")
    family = type(subnet.network_address)
    first = family(int(subnet.network_address) + 1)
    last_offset = 1 if subnet.version == 4 else 0
    last = family(int(subnet.broadcast_address) - last_offset)
    start = _address(raw["rangeStart"], "rangeStart") if raw.get("rangeStart") else first
    end = _address(raw["rangeEnd"], "rangeEnd") if raw.get("rangeEnd") else last
    gateway = _address(raw["gateway"], "gateway") if raw.get("gateway") else first
    for what, address in (("rangeStart", start), ("rangeEnd", end), ("gateway", gateway)):
        if address not in subnet:
            raise CNIError(
                INVALID_NETWORK_CONFIG, f"host-local: {what} {address} is not in {subnet}"
            )
    if int(start) > int(end):
        raise CNIError(INVALID_NETWORK_CONFIG, f"host-local: rangeStart {start} > rangeEnd {end}")
    if int(start) < int(first) or int(end) > int(last):
        raise CNIError(
            INVALID_NETWORK_CONFIG,
            f"host-local: range {start}-{end} includes the network or broadcast address",
        )
    return Range(subnet, start, end, gateway)


def parse_range_sets(ipam: dict[str, Any]) -> list[RangeSet]:
    """All range sets of an `ipam` section, checked for overlaps."""
    raw_sets = ipam.get("ranges")
    if raw_sets is None and ipam.get("subnet"):
        raw_sets = [
            [{k: ipam[k] for k in ("subnet", "rangeStart", "rangeEnd", "gateway") if k in ipam}]
        ]
    if not isinstance(raw_sets, list) or not raw_sets:
        raise CNIError(INVALID_NETWORK_CONFIG, "host-local: ipam needs `ranges` (or `subnet`)")
    sets: list[RangeSet] = []
    for raw_set in raw_sets:
        if not isinstance(raw_set, list) or not raw_set:
            raise CNIError(INVALID_NETWORK_CONFIG, "host-local: every range set must be a list")
        sets.append(tuple(parse_range(raw) for raw in raw_set))
    seen: list[Range] = []
    for range_set in sets:
        for r in range_set:
            for other in seen:
                if r.subnet.version == other.subnet.version and not (
                    int(r.end) < int(other.start) or int(other.end) < int(r.start)
                ):
                    raise CNIError(
                        INVALID_NETWORK_CONFIG,
                        f"host-local: range {r.start}-{r.end} overlaps {other.start}-{other.end}",
                    )
            seen.append(r)
    return sets


def candidates(
    range_set: RangeSet, last_reserved: IPAddress | None
) -> Iterator[tuple[Range, IPAddress]]:
    """Round-robin order: after `last_reserved`, to the end of the set, then wrap around."""
    index, first = 0, None
    if last_reserved is not None:
        for i, r in enumerate(range_set):
            if last_reserved in r:
                index, first = i, type(last_reserved)(int(last_reserved) + 1)
                break
    order = [*range(index, len(range_set)), *range(0, index + 1)]
    for position, i in enumerate(order):
        r = range_set[i]
        if position == 0 and first is not None:
            yield from ((r, a) for a in r.addresses_from(first))
        elif position == len(order) - 1 and first is not None:
            yield from ((r, a) for a in r.addresses_from(r.start) if int(a) < int(first))
        elif position < len(order) - 1:
            yield from ((r, a) for a in r.addresses_from(r.start))
