"""portmap's plans (pure): mappings as containerd sends them, iptables payloads, nft scripts."""

from __future__ import annotations

import pytest

from nodelab.cni import CNIError
from nodelab.cni.portmap_rules import (
    Target,
    dnat_chain,
    iptables_setup,
    iptables_teardown,
    nft_setup,
    parse_mappings,
)

pytestmark = pytest.mark.unit

TARGET = Target("pods", "c1", "10.244.1.5", "10.244.1.0/24", 0x2000)


def test_mappings_accept_go_style_keys_from_containerd() -> None:
    (mapping,) = parse_mappings(
        [{"HostPort": 8080, "ContainerPort": 80, "Protocol": "TCP", "HostIP": ""}]
    )
    assert (mapping.host_port, mapping.container_port, mapping.protocol) == (8080, 80, "tcp")


@pytest.mark.parametrize(
    "raw",
    [
        {"hostPort": 8080},
        [{"hostPort": 0, "containerPort": 80}],
        [{"hostPort": 1, "containerPort": 2, "protocol": "icmp"}],
    ],
)
def test_bad_mappings_are_invalid_config(raw: object) -> None:
    with pytest.raises(CNIError) as info:
        parse_mappings(raw)
    assert info.value.code == 7


def test_first_setup_declares_shared_chains_then_leaves_them_alone() -> None:
    mappings = parse_mappings([{"hostPort": 8080, "containerPort": 80}])
    first = iptables_setup("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n", TARGET, mappings)
    chain = dnat_chain("pods", "c1")
    assert ":CNI-HOSTPORT-DNAT - [0:0]" in first
    assert f"-A {chain} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.244.1.5:80" in first
    saved = "\n".join(
        [
            ":CNI-HOSTPORT-DNAT - [0:0]",
            ":CNI-HOSTPORT-SETMARK - [0:0]",
            ":CNI-HOSTPORT-MASQ - [0:0]",
            "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
            "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
            '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" '
            "-j CNI-HOSTPORT-MASQ",
            f"-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 8080 -j {chain}",
        ]
    )
    again = iptables_setup(saved, TARGET, mappings)
    assert ":CNI-HOSTPORT-DNAT" not in again, "an existing shared chain must not be flushed"
    assert f"-D CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 8080 -j {chain}" in again
    assert "-A PREROUTING" not in again
    teardown = iptables_teardown(saved + f"\n:{chain} - [0:0]", "pods", "c1")
    assert f"-X {chain}" in teardown and "-D CNI-HOSTPORT-DNAT" in teardown
    assert iptables_teardown(":PREROUTING ACCEPT", "pods", "c1") == ""


def test_nft_script_replaces_the_attachment_rules() -> None:
    mappings = parse_mappings([{"hostPort": 8080, "containerPort": 80, "hostIP": "10.0.0.1"}])
    script = nft_setup(TARGET, mappings, [7, 9])
    assert "delete rule ip cni_hostport hostports handle 7" in script
    assert 'ip daddr 10.0.0.1 tcp dport 8080 dnat to 10.244.1.5:80 comment "pods:c1"' in script
