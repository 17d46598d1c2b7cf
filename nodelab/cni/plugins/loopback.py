"""The `loopback` plugin: bring `lo` up inside the pod's network namespace.

ADD sets `lo` up (the kernel then gives it 127.0.0.1/8 and ::1/128) and reports it, as the
reference plugin does; DEL sets it down and succeeds when the netns is already gone; CHECK
verifies `lo` is up. The plugin needs no configuration beyond name and cniVersion.
"""

from __future__ import annotations

import os
import sys

from nodelab.cni import links
from nodelab.cni.errors import INVALID_ENVIRONMENT, INVALID_NETWORK_CONFIG, CNIError
from nodelab.cni.result import Interface, IPConfig, Result
from nodelab.cni.skel import Handlers, Request, serve


def add(request: Request) -> Result:
    if not os.path.exists(request.netns):
        raise CNIError(INVALID_ENVIRONMENT, f"loopback: CNI_NETNS {request.netns} does not exist")
    shown = links.run_ip_batch(["link set lo up", "addr show dev lo"], netns=request.netns)
    lo = shown[-1][0]
    ips = tuple(
        IPConfig(f"{a['local']}/{a['prefixlen']}", interface=0)
        for a in lo.get("addr_info", [])
        if a.get("scope") == "host"
    ) or (IPConfig("127.0.0.1/8", interface=0), IPConfig("::1/128", interface=0))
    return Result(
        request.cni_version,
        interfaces=(
            Interface("lo", lo.get("address", "00:00:00:00:00:00"), sandbox=request.netns),
        ),
        ips=ips,
    )


def delete(request: Request) -> None:
    if request.netns and os.path.exists(request.netns):
        links.run_in(["ip", "link", "set", "lo", "down"], request.netns, check=False)


def check(request: Request) -> None:
    lo = links.link_info("lo", netns=request.netns)
    if lo is None or "UP" not in lo.get("flags", []):
        raise CNIError(INVALID_NETWORK_CONFIG, f"loopback: lo is not up in {request.netns}")


HANDLERS = Handlers(add=add, delete=delete, check=check)

if __name__ == "__main__":
    sys.exit(serve(HANDLERS))
