"""hostPort DNAT for the portmap plugin, as plans: an iptables-restore payload or an nft script.

A pod's `ports[].hostPort` reaches the plugin as the `portMappings` capability
(`runtimeConfig.portMappings: [{hostPort, containerPort, protocol, hostIP}]`). Traffic to a
local address of the node on that port is DNATed to the pod's address; traffic that would
otherwise come back the wrong way (from the pod subnet itself: hairpin; or from 127.0.0.1) is
marked and masqueraded.

iptables flavour (the reference plugin's chain names, in the node's namespace):

    PREROUTING/OUTPUT  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
    CNI-HOSTPORT-DNAT  -p tcp -m comment ... -m multiport --dports 8080 -j CNI-DN-<hash>
    CNI-DN-<hash>      -s <pod subnet> -p tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
                       -s 127.0.0.1/32 -p tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
                       -p tcp --dport 8080 -j DNAT --to-destination <pod ip>:80
    CNI-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000
    POSTROUTING        -j CNI-HOSTPORT-MASQ;  CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000
                       -j MASQUERADE

nftables flavour: table `ip cni_hostport`, base chains `prerouting`/`output` jumping to
`hostports` for local destinations (`fib daddr type local`), `postrouting` masquerading marked
packets; each attachment's rules in `hostports` carry the comment `<network>:<containerID>`,
which is how DEL finds them.

Only these chains/this table are ever written; shared chains are declared only when missing
(declaring an existing chain in iptables-restore would flush it), and a re-ADD replaces the
attachment's own rules. IPv6 mappings are left out (nodelab's pod network is IPv4).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.cni.errors import INVALID_NETWORK_CONFIG, CNIError

DNAT_CHAIN = "CNI-HOSTPORT-DNAT"
SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK"
MASQ_CHAIN = "CNI-HOSTPORT-MASQ"
NFT_TABLE = "cni_hostport"


@dataclass(frozen=True)
class PortMapping:
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""


@dataclass(frozen=True)
class Target:
    """Whose ports: the attachment, its pod address and subnet, and the masquerade mark."""

    network: str
    container_id: str
    pod_ip: str
    pod_subnet: str
    mark: int
    snat: bool = True


def parse_mappings(raw: object) -> list[PortMapping]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CNIError(INVALID_NETWORK_CONFIG, "portmap: portMappings must be a list")
    mappings = []
    for raw_entry in raw:
        # Go's encoding/json matches keys case-insensitively, and containerd (go-cni) sends
        # {"HostPort": ..., "ContainerPort": ...}: accept any case, as the reference plugin does.
        entry = (
            {str(k).lower(): v for k, v in raw_entry.items()} if isinstance(raw_entry, dict) else {}
        )
        try:
            mapping = PortMapping(
                int(entry["hostport"]),
                int(entry["containerport"]),
                str(entry.get("protocol") or "tcp").lower(),
                str(entry.get("hostip") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CNIError(
                INVALID_NETWORK_CONFIG, f"portmap: invalid port mapping {raw_entry!r}"
            ) from exc
        if mapping.protocol not in ("tcp", "udp", "sctp"):
            raise CNIError(INVALID_NETWORK_CONFIG, f"portmap: unknown protocol {mapping.protocol}")
        if not (0 < mapping.host_port < 65536 and 0 < mapping.container_port < 65536):
            raise CNIError(INVALID_NETWORK_CONFIG, f"portmap: port out of range in {raw_entry!r}")
        if mapping.host_ip and ipaddress.ip_address(mapping.host_ip).version != 4:
            continue
        mappings.append(mapping)
    return mappings


def dnat_chain(network: str, container_id: str) -> str:
    return "CNI-DN-" + hashlib.sha512((network + container_id).encode()).hexdigest()[:21]


def _comment(target: Target) -> str:
    return (
        f'-m comment --comment "dnat name: \\"{target.network}\\" id: \\"{target.container_id}\\""'
    )


def _teardown_lines(saved_nat: str, chain: str) -> list[str]:
    lines = saved_nat.splitlines()
    jumps = [
        "-D" + line[2:] for line in lines if line.startswith("-A ") and line.endswith(f"-j {chain}")
    ]
    if any(line.startswith(f":{chain} ") for line in lines):
        return [*jumps, f"-F {chain}", f"-X {chain}"]
    return jumps


def iptables_teardown(saved_nat: str, network: str, container_id: str) -> str:
    """The payload removing one attachment's chain and its jump ('' if nothing is there)."""
    lines = _teardown_lines(saved_nat, dnat_chain(network, container_id))
    return "\n".join(["*nat", *lines, "COMMIT"]) + "\n" if lines else ""


def iptables_setup(saved_nat: str, target: Target, mappings: Sequence[PortMapping]) -> str:
    """The iptables-restore --noflush payload for one attachment, given `iptables-save -t nat`."""
    saved = saved_nat.splitlines()
    declared = {line.split()[0][1:] for line in saved if line.startswith(":")}
    chain = dnat_chain(target.network, target.container_id)
    mark = f"{target.mark:#x}/{target.mark:#x}"
    lines = ["*nat"]
    lines += [
        f"-D{line[2:]}"
        for line in saved
        if line.startswith(f"-A {DNAT_CHAIN} ") and line.endswith(f"-j {chain}")
    ]
    for shared in (DNAT_CHAIN, SETMARK_CHAIN, MASQ_CHAIN):
        if shared not in declared:
            lines.append(f":{shared} - [0:0]")
    lines.append(f":{chain} - [0:0]")
    wanted_jumps = [
        f"-A PREROUTING -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}",
        f"-A OUTPUT -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}",
        f'-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j {MASQ_CHAIN}',
    ]
    lines += [jump for jump in wanted_jumps if jump not in saved]
    if SETMARK_CHAIN not in declared:
        lines.append(
            f'-A {SETMARK_CHAIN} -m comment --comment "CNI portfwd masquerade mark" '
            f"-j MARK --set-xmark {mark}"
        )
    if MASQ_CHAIN not in declared:
        lines.append(f"-A {MASQ_CHAIN} -m mark --mark {mark} -j MASQUERADE")
    for protocol in sorted({m.protocol for m in mappings}):
        ports = ",".join(str(m.host_port) for m in mappings if m.protocol == protocol)
        lines.append(
            f"-A {DNAT_CHAIN} -p {protocol} {_comment(target)} -m multiport "
            f"--dports {ports} -j {chain}"
        )
    for m in mappings:
        dst = f"-d {m.host_ip}/32 " if m.host_ip else ""
        match = f"{dst}-p {m.protocol} -m {m.protocol} --dport {m.host_port}"
        if target.snat:
            lines.append(f"-A {chain} -s {target.pod_subnet} {match} -j {SETMARK_CHAIN}")
            lines.append(f"-A {chain} -s 127.0.0.1/32 {match} -j {SETMARK_CHAIN}")
        lines.append(
            f"-A {chain} {match} -j DNAT --to-destination {target.pod_ip}:{m.container_port}"
        )
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def nft_comment(network: str, container_id: str) -> str:
    return f"{network}:{container_id}"


def nft_base() -> list[str]:
    """The table, its base chains and their rules (rewritten whole: they are all ours)."""
    t = f"ip {NFT_TABLE}"
    return [
        f"add table {t}",
        f"add chain {t} hostports",
        f"add chain {t} prerouting {{ type nat hook prerouting priority -100 ; }}",
        f"add chain {t} output {{ type nat hook output priority -100 ; }}",
        f"add chain {t} postrouting {{ type nat hook postrouting priority 100 ; }}",
        f"flush chain {t} prerouting",
        f"add rule {t} prerouting fib daddr type local jump hostports",
        f"flush chain {t} output",
        f"add rule {t} output fib daddr type local jump hostports",
    ]


def nft_setup(target: Target, mappings: Sequence[PortMapping], stale_handles: Sequence[int]) -> str:
    """The `nft -f -` script for one attachment; `stale_handles` are its rules from before."""
    t = f"ip {NFT_TABLE}"
    comment = nft_comment(target.network, target.container_id)
    lines = nft_base()
    lines += [
        f"flush chain {t} postrouting",
        f"add rule {t} postrouting meta mark & {target.mark:#x} == {target.mark:#x} masquerade",
    ]
    lines += [f"delete rule {t} hostports handle {h}" for h in stale_handles]
    for m in mappings:
        dst = f"ip daddr {m.host_ip} " if m.host_ip else ""
        match = f"{dst}{m.protocol} dport {m.host_port}"
        if target.snat:
            lines.append(
                f"add rule {t} hostports ip saddr {{ {target.pod_subnet}, 127.0.0.1 }} "
                f'{match} meta mark set mark or {target.mark:#x} comment "{comment}"'
            )
        lines.append(
            f"add rule {t} hostports {match} dnat to "
            f'{target.pod_ip}:{m.container_port} comment "{comment}"'
        )
    return "\n".join(lines) + "\n"


def nft_teardown(stale_handles: Sequence[int]) -> str:
    t = f"ip {NFT_TABLE}"
    return "".join(f"delete rule {t} hostports handle {h}\n" for h in stale_handles)
