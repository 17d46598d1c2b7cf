"""Masquerade for pod traffic that leaves the pod network, as kindnet's masq agent does.

A pod's packet to the lab gateway (the API server behind the `kubernetes` Service, the
registry) leaves the node with the pod's address as source, and the gateway has no route back
to pod ranges (the root namespace gets no routes from a lab). kindnet solves the same problem on
kind nodes with its ip-masq-agent: traffic from pods to anywhere outside the cluster's pod
network is masqueraded to the node's address; pod-to-pod traffic, across nodes too, keeps its
addresses. The rules are kindnet's, in the node's own namespace, in a chain of their own:

    -A POSTROUTING -s 10.244.0.0/16 -m addrtype ! --dst-type LOCAL -m comment --comment ...
       -j KIND-MASQ-AGENT
    -A KIND-MASQ-AGENT -d 10.244.0.0/16 -m comment --comment "kind-masq-agent: local traffic
       is not subject to MASQUERADE" -j RETURN
    -A KIND-MASQ-AGENT -m comment --comment "kind-masq-agent: outbound traffic is subject to
       MASQUERADE (must be last in chain)" -j MASQUERADE

`masquerade_payload` is the plan (an `iptables-restore --noflush` payload that rewrites only
that chain); `jump_rule` the one rule in POSTROUTING, added once if missing. (kindnet matches
every source; here only pod sources are, so the node's own traffic is never rewritten.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from nodelab.host.commands import run

CHAIN = "KIND-MASQ-AGENT"
JUMP_COMMENT = ("kind-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination "
                "traffic to our custom KIND-MASQ-AGENT chain")


def jump_rule(pod_networks: Sequence[ipaddress.IPv4Network]) -> list[list[str]]:
    """The POSTROUTING rules (as iptables arguments after `-t nat -A`), one per pod network."""
    return [["POSTROUTING", "-s", str(network), "-m", "addrtype", "!", "--dst-type", "LOCAL",
             "-m", "comment", "--comment", JUMP_COMMENT, "-j", CHAIN]
            for network in pod_networks]


def masquerade_payload(pod_networks: Sequence[ipaddress.IPv4Network]) -> str:
    lines = ["*nat", f":{CHAIN} - [0:0]"]
    for network in pod_networks:
        lines.append(f'-A {CHAIN} -d {network} -m comment --comment "kind-masq-agent: local '
                     f'traffic is not subject to MASQUERADE" -j RETURN')
    lines.append(f'-A {CHAIN} -m comment --comment "kind-masq-agent: outbound traffic is '
                 f'subject to MASQUERADE (must be last in chain)" -j MASQUERADE')
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def apply_masquerade(pod_networks: Sequence[ipaddress.IPv4Network]) -> None:
    """Write the chain, then add each jump rule that is missing (this namespace only)."""
    run(["iptables-restore", "--noflush", "-w", "5"], input=masquerade_payload(pod_networks))
    for rule in jump_rule(pod_networks):
        present = run(["iptables", "-w", "5", "-t", "nat", "-C", *rule], check=False)
        if present.returncode != 0:
            run(["iptables", "-w", "5", "-t", "nat", "-A", *rule])
