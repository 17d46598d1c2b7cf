"""Handing out addresses: one per range set, round-robin, never the gateway.

Round-robin (start after `last_reserved_ip.<set>`, wrap around at the end) means a freed
address is not handed out again until the rest of the range has been used, which keeps a new
pod from inheriting a stale conntrack entry or ARP cache entry of a pod that just died. When the
range is full, ADD fails with code 11 ("try again later"): DEL of another pod will free one.

An attachment (container id + ifname) that already holds an address of a set gets it back, so
an ADD repeated after a runtime restart does not leak a second address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from nodelab.cni.errors import TRY_AGAIN_LATER, CNIError
from nodelab.cni.ipam.ranges import IPAddress, Range, RangeSet, candidates
from nodelab.cni.ipam.store import Store


@dataclass(frozen=True)
class Allocation:
    address: IPAddress
    range: Range

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.range.subnet.prefixlen}"


def allocate(
    store: Store, range_sets: list[RangeSet], container_id: str, ifname: str
) -> list[Allocation]:
    """Reserve one address in each range set for the attachment (the store must be locked)."""
    held = {ipaddress.ip_address(a) for a in store.owned_by(container_id, ifname)}
    allocations = []
    for index, range_set in enumerate(range_sets):
        existing = next(((r, a) for r in range_set for a in held if a in r), None)
        if existing is not None:
            allocations.append(Allocation(existing[1], existing[0]))
            continue
        last = store.last_reserved(index)
        last_address = None
        if last:
            try:
                last_address = ipaddress.ip_address(last)
            except ValueError:
                last_address = None
        for r, address in candidates(range_set, last_address):
            if store.reserve(container_id, ifname, str(address), index):
                allocations.append(Allocation(address, r))
                break
        else:
            for done in allocations:
                if done.address not in held:
                    store.release(str(done.address))
            first = range_set[0]
            raise CNIError(
                TRY_AGAIN_LATER,
                f"host-local: no free address in range set {index} ({first.subnet})",
                "every address is reserved; delete unused pods, or widen the range",
            )
    return allocations
