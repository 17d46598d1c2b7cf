"""Whether this kernel can do kube-proxy's IPVS mode: the `ip_vs` module and ipsets.

IPVS mode needs the kernel's IP Virtual Server (`ip_vs`, plus a scheduler module such as
`ip_vs_rr`) for the load balancing, and ipsets (`ip_set` with the iptables `set` match) for its
fixed iptables rules. `ip_vs` is there when `/proc/net/ip_vs` exists (loaded or built in) or
its module file can be loaded (`/lib/modules/<release>/.../ip_vs.ko*`, or named in
`modules.builtin`); upstream's kube-proxy checks the same before it picks the mode
(`CanUseIPVSProxier`).
"""

from __future__ import annotations

import os
from pathlib import Path

from nodelab.errors import NodelabError

PROC_IP_VS = Path("/proc/net/ip_vs")
MODULES = Path("/lib/modules")


def ipvs_in_kernel(proc: Path = PROC_IP_VS, modules: Path = MODULES,
                   release: str | None = None) -> tuple[bool, str]:
    """(whether the kernel has ip_vs, what was looked at)."""
    release = release or os.uname().release
    module_dir = modules / release
    builtin = module_dir / "modules.builtin"
    if proc.exists():
        return True, f"{proc} exists"
    if builtin.exists() and "/ip_vs.ko" in builtin.read_text():
        return True, f"ip_vs is built into kernel {release}"
    found = sorted(module_dir.glob("kernel/net/netfilter/ipvs/ip_vs.ko*"))
    if found:
        return True, f"module {found[0]}"
    return False, (f"kernel {release} has no ip_vs module (no {proc}, no ip_vs.ko under "
                   f"{module_dir})")


def require_ipvs(what: str) -> None:
    """Raise a NodelabError naming the missing module when `what` needs IPVS and the kernel
    has none."""
    present, detail = ipvs_in_kernel()
    if not present:
        raise NodelabError(
            f"{what}: kube-proxy's IPVS mode needs the kernel module ip_vs, and {detail}. "
            "Use --proxy-mode iptables or nftables on this host; `nodelab proxy-plan --mode "
            "ipvs` shows what IPVS mode would program on a running lab, without applying it")
