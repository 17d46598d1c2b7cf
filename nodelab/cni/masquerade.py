"""The bridge plugin's `ipMasq`: per-attachment SNAT chains, as iptables-restore payloads.

Like the reference plugin, each attachment gets a nat chain `CNI-<24 hex of sha512(network +
container id)>`; POSTROUTING jumps to it for traffic from the pod's address; the chain accepts
traffic to the pod subnet and masquerades the rest (except multicast):

    -A POSTROUTING -s 10.244.1.7/32 -m comment --comment "name: \\"pods\\" id: \\"c1\\"" -j CNI-...
    -A CNI-... -d 10.244.1.0/24 ... -j ACCEPT
    -A CNI-... ! -d 224.0.0.0/4 ... -j MASQUERADE

Only that chain and its jump rules are ever written or removed (`iptables-restore --noflush`),
never anything else. Teardown finds the jump rules in `iptables-save` by the chain name, so DEL
needs no result and works after a crash. The plugin runs in the node's network namespace, so
the rules live there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nodelab.cni.result import IPConfig
from nodelab.host.commands import run


def chain_name(network: str, container_id: str) -> str:
    return "CNI-" + hashlib.sha512((network + container_id).encode()).hexdigest()[:24]


def _comment(network: str, container_id: str) -> str:
    return f'-m comment --comment "name: \\"{network}\\" id: \\"{container_id}\\""'


def setup_payload(network: str, container_id: str, ips: Sequence[IPConfig]) -> str:
    chain = chain_name(network, container_id)
    comment = _comment(network, container_id)
    lines = ["*nat", f":{chain} - [0:0]"]
    for ip in ips:
        if ip.interface_address.version != 4:
            continue
        subnet = ip.interface_address.network
        lines.append(f"-A {chain} -d {subnet} {comment} -j ACCEPT")
    lines.append(f"-A {chain} ! -d 224.0.0.0/4 {comment} -j MASQUERADE")
    for ip in ips:
        if ip.interface_address.version == 4:
            lines.append(f"-A POSTROUTING -s {ip.interface_address.ip}/32 {comment} -j {chain}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def teardown_payload(saved_nat: str, network: str, container_id: str) -> str:
    """Delete the jumps to the attachment's chain, then the chain ('' if there is none)."""
    chain = chain_name(network, container_id)
    jumps = [
        "-D" + line[2:]
        for line in saved_nat.splitlines()
        if line.startswith("-A ") and line.endswith(f"-j {chain}")
    ]
    has_chain = any(line.startswith(f":{chain} ") for line in saved_nat.splitlines())
    if not jumps and not has_chain:
        return ""
    lines = ["*nat", *jumps]
    if has_chain:
        lines += [f"-F {chain}", f"-X {chain}"]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def setup(network: str, container_id: str, ips: Sequence[IPConfig]) -> None:
    run(
        ["iptables-restore", "--noflush", "-w", "5"],
        input=setup_payload(network, container_id, ips),
    )


def teardown(network: str, container_id: str) -> None:
    saved = run(["iptables-save", "-t", "nat"]).stdout
    payload = teardown_payload(saved, network, container_id)
    if payload:
        run(["iptables-restore", "--noflush", "-w", "5"], input=payload)
