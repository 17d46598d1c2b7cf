"""Linux capabilities in the OCI spec: containerd's default set, and what CRI's security
context adds to or drops from it.

A container gets `DEFAULT_CAPABILITIES` (containerd's and Docker's default set); CRI's
`capabilities.add_capabilities`/`drop_capabilities` change it (names with or without `CAP_`,
`ALL` for every one), and a privileged container gets all. "All" means every capability the
runtime itself holds (its bounding set, read from /proc/self/status as a bit mask and decoded
with `capabilities_from_mask`), as containerd's `WithAllCurrentCapabilities`: asking runc for
one the host withholds would make the container fail to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
CAPABILITY_BITS = (  # bit i of CapBnd/CapEff in /proc/<pid>/status is CAPABILITY_BITS[i]
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)
# "all" when the runtime's own bounding set is not known: the bits up to CAP_AUDIT_READ (the
# newest three, CAP_PERFMON, CAP_BPF, CAP_CHECKPOINT_RESTORE, only when the bounding set has them)
ALL_CAPABILITIES = CAPABILITY_BITS[:CAPABILITY_BITS.index("CAP_AUDIT_READ") + 1]


def capabilities_from_mask(mask: int) -> tuple[str, ...]:
    """The capability names of a `CapBnd`-style bit mask."""
    return tuple(name for bit, name in enumerate(CAPABILITY_BITS) if mask >> bit & 1)


def capabilities(security: Any, bounding: Sequence[str] | None = None) -> list[str]:
    """The container's capabilities; "all" (privileged, or `add: [ALL]`) means all the
    runtime itself holds (`bounding`, None: every one), as containerd's
    `WithAllCurrentCapabilities`: asking runc for one the host withholds would fail."""
    every = list(ALL_CAPABILITIES) if bounding is None else list(bounding)
    if security is not None and security.privileged:
        return every
    caps = list(DEFAULT_CAPABILITIES)
    if security is None or not security.HasField("capabilities"):
        return caps

    def norm(name: str) -> str:
        name = name.upper()
        return name if name.startswith("CAP_") else "CAP_" + name

    adds = [norm(c) for c in security.capabilities.add_capabilities]
    drops = [norm(c) for c in security.capabilities.drop_capabilities]
    if "CAP_ALL" in adds:
        caps = every
    else:
        caps += [c for c in adds if c not in caps]
    if "CAP_ALL" in drops:
        return [c for c in adds if c != "CAP_ALL"] if "CAP_ALL" not in adds else []
    return [c for c in caps if c not in drops]
