"""Handing out addresses: one per range set, round-robin, never the gateway.

Round-robin (start after `last_reserved_ip.<set>`, wrap around at the end) means a freed
address is not handed out again until the rest of the range has been used, which keeps a new
pod from inheriting a stale conntrack entry or ARP cache entry of a pod that just died. When the
range is full, ADD fails with code 11 ("try again later"): DEL of another pod will free one.

An attachment (container id + ifname) that already holds an address of a set gets it back, so
an ADD repeated after a runtime restart does not leak a second address.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.cni.errors import INVALID_NETWORK_CONFIG, TRY_AGAIN_LATER, CNIError
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
    store: Store,
    range_sets: list[RangeSet],
    container_id: str,
    ifname: str,
    requested: Sequence[IPAddress] = (),
) -> list[Allocation]:
    """Reserve one address in each range set for the attachment (the store must be locked).

    `requested` addresses (CNI_ARGS `IP=`, the `ips` capability) are taken as asked, each in the
    range set that holds it; the other sets allocate round-robin.
    """
    held = {ipaddress.ip_address(a) for a in store.owned_by(container_id, ifname)}
    wanted = list(requested)
    allocations: list[Allocation] = []
    try:
        for index, range_set in enumerate(range_sets):
            allocations.append(_one(store, index, range_set, container_id, ifname, held, wanted))
        if wanted:
            raise CNIError(
                INVALID_NETWORK_CONFIG,
                f"host-local: requested address(es) {', '.join(map(str, wanted))} are in no range",
            )
    except CNIError:
        for done in allocations:
            if done.address not in held:
                store.release(str(done.address))
        raise
    return allocations


def _one(
    store: Store,
    index: int,
    range_set: RangeSet,
    container_id: str,
    ifname: str,
    held: set[IPAddress],
    wanted: list[IPAddress],
) -> Allocation:
    request = next(((r, a) for a in wanted for r in range_set if a in r), None)
    if request is not None:
        wanted.remove(request[1])
    existing = next(((r, a) for r in range_set for a in held if a in r), None)
    if existing is not None and (request is None or request[1] == existing[1]):
        return Allocation(existing[1], existing[0])
    if request is not None:
        r, address = request
        if address == r.gateway or not store.reserve(container_id, ifname, str(address), index):
            raise CNIError(
                INVALID_NETWORK_CONFIG,
                f"host-local: requested address {address} is not available in range set {index}",
                "it is the gateway or reserved by another container",
            )
        return Allocation(address, r)
    last = store.last_reserved(index)
    last_address = None
    if last:
        with contextlib.suppress(ValueError):
            last_address = ipaddress.ip_address(last)
    for r, address in candidates(range_set, last_address):
        if store.reserve(container_id, ifname, str(address), index):
            return Allocation(address, r)
    raise CNIError(
        TRY_AGAIN_LATER,
        f"host-local: no free address in range set {index} ({range_set[0].subnet})",
        "every address is reserved; delete unused pods, or widen the range",
    )
