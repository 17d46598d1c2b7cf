"""The seccomp part of the OCI spec: what CRI's SecurityProfile asks for, as a runc filter.

CRI sends a `SecurityProfile` per container (the pod's `seccompProfile`):

- `Unconfined` (what the kubelet sends when the pod says nothing): no filter;
- `Localhost`: a JSON profile from a file on the node (`localhost_ref`), used as given;
- `RuntimeDefault`: the runtime's default profile.

containerd's and Docker's default profile is an *allowlist* of ~350 syscalls. nodelab's
RuntimeDefault is the equivalent *denylist*: every syscall is allowed except those the moby
profile leaves out because they reach outside the container (kernel modules, reboot and kexec,
the clock, swap, mounts and namespaces, keyrings, BPF, perf, userfaultfd, raw I/O ports...);
a syscall is allowed again when the container holds the capability that moby's profile ties it
to (`mount` with CAP_SYS_ADMIN, `reboot` with CAP_SYS_BOOT, ...). A blocked call fails with
EPERM, as it would under Docker. The filter shows in the container as `Seccomp: 2` in
`/proc/self/status`. Privileged containers get no filter, as upstream.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Mapping
from typing import Any

RUNTIME_DEFAULT, UNCONFINED, LOCALHOST = 0, 1, 2

ALWAYS_BLOCKED = (
    "sysfs", "_sysctl", "ustat", "uselib", "userfaultfd", "vm86", "vm86old", "nfsservctl",
    "add_key", "keyctl", "request_key",
)
BLOCKED_UNLESS: Mapping[str, tuple[str, ...]] = {
    "CAP_SYS_ADMIN": ("mount", "umount", "umount2", "unshare", "setns", "pivot_root", "fsopen",
                      "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "quotactl",
                      "lookup_dcookie", "perf_event_open", "bpf", "name_to_handle_at"),
    "CAP_SYS_BOOT": ("reboot", "kexec_load", "kexec_file_load"),
    "CAP_SYS_MODULE": ("init_module", "finit_module", "delete_module", "create_module",
                       "query_module", "get_kernel_syms"),
    "CAP_SYS_TIME": ("settimeofday", "stime", "clock_settime", "clock_adjtime"),
    "CAP_SYS_RAWIO": ("iopl", "ioperm"),
    "CAP_SYS_PACCT": ("acct",),
    "CAP_SYS_PTRACE": ("kcmp",),
    "CAP_DAC_READ_SEARCH": ("open_by_handle_at",),
    "CAP_SYS_NICE": (),
}
ARCHITECTURES = {
    "x86_64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "aarch64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def blocked_syscalls(capabilities: Iterable[str]) -> list[str]:
    held = set(capabilities)
    names = list(ALWAYS_BLOCKED)
    for capability, syscalls in BLOCKED_UNLESS.items():
        if capability not in held:
            names.extend(syscalls)
    return sorted(names)


def runtime_default(capabilities: Iterable[str], machine: str | None = None) -> dict[str, Any]:
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ARCHITECTURES.get(machine or platform.machine(), []),
        "syscalls": [{"names": blocked_syscalls(capabilities), "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}],
    }


def seccomp_plan(security: Any, capabilities: Iterable[str],
                 localhost: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """`linux.seccomp` for a container's security context, or None for no filter."""
    if security is None or security.privileged or not security.HasField("seccomp"):
        return None
    profile = security.seccomp
    if profile.profile_type == UNCONFINED:
        return None
    if profile.profile_type == LOCALHOST:
        return oci_profile(localhost) if localhost else None
    return runtime_default(capabilities)


def oci_profile(profile: Mapping[str, Any], machine: str | None = None) -> dict[str, Any]:
    """A Docker-format profile (with `archMap`) in the OCI spec's shape."""
    result = {k: v for k, v in profile.items() if k not in ("archMap",)}
    if "archMap" in profile and "architectures" not in profile:
        wanted = set(ARCHITECTURES.get(machine or platform.machine(), []))
        arches: list[str] = []
        for entry in profile["archMap"]:
            if entry.get("architecture") in wanted:
                arches += [entry["architecture"], *entry.get("subArchitectures", [])]
        result["architectures"] = arches
    return result
