"""podnet's masquerade plan: kindnet's masq-agent rules for pod traffic leaving the pod network."""

from __future__ import annotations

import ipaddress

import pytest

from nodelab.podnet.masquerade import jump_rule, masquerade_payload

pytestmark = pytest.mark.unit
PODS = ipaddress.IPv4Network("10.244.0.0/16")


def test_payload_rewrites_only_its_chain_and_masquerades_last() -> None:
    payload = masquerade_payload([PODS, ipaddress.IPv4Network("10.250.3.0/24")])
    assert payload.splitlines() == [
        "*nat",
        ":KIND-MASQ-AGENT - [0:0]",
        '-A KIND-MASQ-AGENT -d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local '
        'traffic is not subject to MASQUERADE" -j RETURN',
        '-A KIND-MASQ-AGENT -d 10.250.3.0/24 -m comment --comment "kind-masq-agent: local '
        'traffic is not subject to MASQUERADE" -j RETURN',
        '-A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject '
        'to MASQUERADE (must be last in chain)" -j MASQUERADE',
        "COMMIT",
    ]


def test_only_pod_sources_jump_to_the_chain() -> None:
    (rule,) = jump_rule([PODS])
    assert rule[:3] == ["POSTROUTING", "-s", "10.244.0.0/16"]
    assert rule[-2:] == ["-j", "KIND-MASQ-AGENT"]
    assert "!" in rule and "LOCAL" in rule
