"""What `up` and `join` refuse before they touch anything: a node count out of range, a caller
without the privileges a lab needs, a kube-proxy mode nodelab cannot apply, a state dir too
deep for the lab's sockets. One check each, so both verbs say it the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host import netlink
from nodelab.host.ipvs import require_ipvs
from nodelab.lab.names import MAX_NODES


def check_node_count(nodes: int) -> None:
    """A lab has 1 to MAX_NODES nodes (names and addresses are numbered .11, .12, ...)."""
    if not 1 <= nodes <= MAX_NODES:
        raise NodelabError(f"--nodes must be between 1 and {MAX_NODES}, not {nodes}")


def check_privileges(action: str) -> None:
    """Root is needed for the lab's network namespaces, bridge and cgroups; `action` names what
    was asked ("bring lab a up", "join lab a") in the refusal."""
    if not netlink.is_root():
        raise NodelabError(f"cannot {action}: not root (network namespaces, bridges and cgroups "
                           "need root; run as root, or see `nodelab doctor`)")


IPVS_MODE = "ipvs"


def refuse_ipvs_mode(action: str) -> None:
    """kube-proxy's IPVS mode is rendered (`nodelab proxy-plan --mode ipvs`) but not applied:
    refuse it naming the missing kernel module where there is none, else saying what is not
    there yet."""
    require_ipvs(f"cannot {action} with --proxy-mode ipvs")
    raise NodelabError(
        f"cannot {action} with --proxy-mode ipvs: the kernel has ip_vs, but nodelab's "
        "kube-proxy applies the iptables and nftables modes only; `nodelab proxy-plan --mode "
        "ipvs` shows what IPVS mode would program on a running lab")


# sun_path holds 108 bytes with the terminating NUL; containerd also listens on its address
# plus ".ttrpc"
SOCKET_PATH_MAX = 107
CONTAINERD_TTRPC_SUFFIX = ".ttrpc"


def check_socket_path(socket: Path, runtime: str) -> None:
    """A node's runtime listens on a unix socket under the lab's state dir (and containerd on
    that path plus `.ttrpc` too): a state dir too deep for it is refused before anything is
    made, not left to fail in the runtime's start."""
    longest = len(os.fsencode(socket)) + (len(CONTAINERD_TTRPC_SUFFIX)
                                          if runtime == "containerd" else 0)
    if longest > SOCKET_PATH_MAX:
        raise NodelabError(
            f"the lab's state dir is too deep for its sockets: {socket} would be {longest} "
            f"bytes{' with .ttrpc' if runtime == 'containerd' else ''}, over the "
            f"{SOCKET_PATH_MAX} a unix socket path may have; set NODELAB_STATE_DIR to a "
            "shorter directory")
