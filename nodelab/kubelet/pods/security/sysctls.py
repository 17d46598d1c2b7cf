"""Which pod sysctls the kubelet admits (upstream's `pkg/kubelet/sysctl`, v1.31).

The **safe** set is namespaced and cannot affect other pods, so every pod may set it:
`kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`, `net.ipv4.tcp_syncookies`,
`net.ipv4.ping_group_range`, `net.ipv4.ip_unprivileged_port_start`,
`net.ipv4.ip_local_reserved_ports`, `net.ipv4.tcp_keepalive_time`, `net.ipv4.tcp_fin_timeout`,
`net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`. Anything else must be allowed
by the node (the kubelet setting `allowedUnsafeSysctls`, names or `prefix*` patterns);
otherwise the kubelet **rejects** the pod at admission: the pod turns `Failed` with reason
`SysctlForbidden` and message `Pod was rejected: forbidden sysctl: "kernel.msgmax" not
allowlisted`, and nothing is started. A `net.*` sysctl is refused with `hostNetwork`, an IPC one
(`kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*`) with `hostIPC`: it would change the
node's own namespace. Names may use `/` for `.` (`net/ipv4/tcp_syncookies`).
"""

from __future__ import annotations

from collections.abc import Iterable

from nodelab.kube.objects import ObjectView

FORBIDDEN_REASON = "SysctlForbidden"
SAFE_SYSCTLS = (
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
)
IPC_SYSCTLS = ("kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
               "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem")
IPC_PREFIXES = ("fs.mqueue.",)


def normalize(name: str) -> str:
    """upstream's NormalizeName: when the first separator is `/`, slashes and dots swap."""
    separators = [i for i in (name.find("."), name.find("/")) if i != -1]
    if not separators or name[min(separators)] == ".":
        return name
    return name.translate(str.maketrans("./", "/."))


def namespace_of(name: str) -> str:
    if name in IPC_SYSCTLS or name.startswith(IPC_PREFIXES):
        return "ipc"
    if name.startswith("net."):
        return "net"
    return ""


def _allowed(name: str, unsafe: Iterable[str]) -> bool:
    if name in SAFE_SYSCTLS:
        return True
    for pattern in unsafe:
        pattern = normalize(pattern)
        if pattern == name or (pattern.endswith("*") and name.startswith(pattern[:-1])):
            return True
    return False


def forbidden(pod: ObjectView, allowed_unsafe: Iterable[str] = ()) -> str | None:
    """Why the kubelet must reject `pod` for its sysctls (the event message), or None."""
    spec = pod.get("spec") or {}
    unsafe = list(allowed_unsafe)
    for sysctl in (spec.get("securityContext") or {}).get("sysctls") or []:
        name = normalize(str(sysctl.get("name", "")))
        if not _allowed(name, unsafe):
            return f'forbidden sysctl: "{name}" not allowlisted'
        namespace = namespace_of(name)
        if (namespace == "ipc" and spec.get("hostIPC")) or (
                namespace == "net" and spec.get("hostNetwork")):
            return f'forbidden sysctl: "{name}" not allowed with host {namespace} enabled'
    return None
