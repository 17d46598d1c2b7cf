"""host-local's ranges and round-robin order (pure), and its store (files in a temp dir)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from nodelab.cni import CNIError
from nodelab.cni.ipam.allocator import allocate
from nodelab.cni.ipam.ranges import candidates, parse_range_sets
from nodelab.cni.ipam.store import Store

pytestmark = pytest.mark.unit


def test_defaults_skip_network_gateway_and_broadcast() -> None:
    (range_set,) = parse_range_sets({"ranges": [[{"subnet": "10.1.0.0/29"}]]})
    (r,) = range_set
    assert str(r.gateway) == "10.1.0.1"
    order = [str(a) for _, a in candidates(range_set, None)]
    assert order == ["10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6"]


def test_round_robin_starts_after_the_last_reserved_and_wraps() -> None:
    (range_set,) = parse_range_sets(
        {"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.10", "rangeEnd": "10.1.0.13"}
    )
    order = [str(a) for _, a in candidates(range_set, ipaddress.ip_address("10.1.0.11"))]
    assert order == ["10.1.0.12", "10.1.0.13", "10.1.0.10", "10.1.0.11"]


def test_round_robin_across_ranges_of_a_set() -> None:
    (range_set,) = parse_range_sets(
        {"ranges": [[{"subnet": "10.1.0.0/30"}, {"subnet": "10.2.0.0/30"}]]}
    )
    order = [str(a) for _, a in candidates(range_set, ipaddress.ip_address("10.1.0.2"))]
    assert order == ["10.2.0.2", "10.1.0.2"]


@pytest.mark.parametrize(
    "ipam",
    [
        {},
        {"ranges": [[{"subnet": "nope"}]]},
        {"subnet": "10.1.0.0/24", "rangeStart": "10.2.0.1"},
        {"subnet": "10.1.0.0/24", "rangeStart": "10.1.0.9", "rangeEnd": "10.1.0.3"},
        {"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "10.1.0.0/25"}]]},
    ],
)
def test_bad_ranges_are_invalid_config(ipam: dict[str, object]) -> None:
    with pytest.raises(CNIError) as info:
        parse_range_sets(ipam)
    assert info.value.code == 7


def test_store_reserves_once_releases_and_reuses_in_round_robin(tmp_path: Path) -> None:
    sets = parse_range_sets({"ranges": [[{"subnet": "10.1.0.0/29"}]]})
    with Store(tmp_path, "net") as store:
        got = [allocate(store, sets, f"c{i}", "eth0")[0].cidr for i in range(5)]
        assert got == [f"10.1.0.{i}/29" for i in range(2, 7)]
        assert (tmp_path / "net" / "10.1.0.2").read_bytes() == b"c0\r\neth0"
        with pytest.raises(CNIError) as info:
            allocate(store, sets, "c9", "eth0")
        assert info.value.code == 11
        for address in store.owned_by("c2", "eth0"):
            store.release(address)
        assert allocate(store, sets, "c9", "eth0")[0].cidr == "10.1.0.4/29"
        assert allocate(store, sets, "c9", "eth0")[0].cidr == "10.1.0.4/29", "re-ADD keeps it"
        assert (tmp_path / "net" / "last_reserved_ip.0").read_text() == "10.1.0.4"


def test_dual_stack_gets_one_address_per_range_set(tmp_path: Path) -> None:
    sets = parse_range_sets({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/120"}]]})
    with Store(tmp_path, "net") as store:
        cidrs = [a.cidr for a in allocate(store, sets, "c1", "eth0")]
    assert cidrs == ["10.1.0.2/24", "fd00:1::2/120"]


def test_requested_addresses_are_taken_as_asked(tmp_path: Path) -> None:
    sets = parse_range_sets({"ranges": [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/120"}]]})
    wanted = [ipaddress.ip_address("10.1.0.50")]
    with Store(tmp_path, "net") as store:
        got = [a.cidr for a in allocate(store, sets, "c1", "eth0", wanted)]
        assert got == ["10.1.0.50/24", "fd00:1::2/120"], "the other set allocates as usual"
        for taken in ("10.1.0.50", "10.1.0.1", "10.9.9.9"):
            with pytest.raises(CNIError) as info:
                allocate(store, sets, "c2", "eth0", [ipaddress.ip_address(taken)])
            assert info.value.code == 7
        assert store.owned_by("c2", "eth0") == [], "a failed ADD keeps nothing"
