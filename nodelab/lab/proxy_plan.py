"""The kube-proxy plan of a running lab's node, in any mode, rendered and not applied.

`proxy_plan_text(lab, node, mode)` reads the lab's Services and EndpointSlices from its API
server (one list each), renders what kube-proxy in `mode` would program on `node` (a pure
plan: `render_ipvs`, `render_iptables`, `render_nftables`) and returns it as text. It changes
nothing: the lab's own kube-proxy keeps running in the lab's mode. This is how IPVS mode is
seen on a kernel without `ip_vs` (`nodelab proxy-plan --mode ipvs`), and how any node's plan
can be compared with the rules it holds. Embedded labs only: a joined lab is refused (its
nodes' names in the cluster differ from their lab names, which decide which endpoints are
local).

NodePort virtual servers listen on the node's own addresses; as root they are read from the
node's network namespace (every IPv4 address but kube-ipvs0's, as upstream), otherwise the
node's lab address and 127.0.0.1 are assumed (and the text says so).
"""

from __future__ import annotations

import socket

from nodelab.errors import NodelabError
from nodelab.host import netlink
from nodelab.kube.restclient import client_for
from nodelab.lab.lab import Lab
from nodelab.lab.topology import NodePlan
from nodelab.proxy.iptables.plan import IptablesPlan
from nodelab.proxy.ipvs.plan import DUMMY_DEVICE, render_ipvs
from nodelab.proxy.ipvs.show import NOT_APPLIED, show_ipvs
from nodelab.proxy.live_state import read_state
from nodelab.proxy.model import ProxyNode
from nodelab.proxy.proxier import render_plan

PLAN_MODES = ("ipvs", "iptables", "nftables")


def node_addresses(node: NodePlan) -> tuple[tuple[str, ...], bool]:
    """(the node's IPv4 addresses but kube-ipvs0's, whether they were read from the node)."""
    if not netlink.is_root():
        return (str(node.ip), "127.0.0.1"), False
    with netlink.ipr(node.netns) as sock:
        skip = {link["index"] for link in sock.get_links()
                if link.get_attr("IFLA_IFNAME") == DUMMY_DEVICE}
        found = [a.get_attr("IFA_ADDRESS") for a in sock.get_addr(family=socket.AF_INET)
                 if a["index"] not in skip]
    return tuple(sorted(set(found))), True


def proxy_plan_text(lab: Lab, node_name: str = "node1", mode: str = "ipvs",
                    scheduler: str = "rr") -> str:
    """What kube-proxy in `mode` would program on `node_name` of `lab` now, as text."""
    if mode not in PLAN_MODES:
        raise NodelabError(f"proxy mode {mode!r}: choose one of {', '.join(PLAN_MODES)}")
    if lab.description.joined:
        raise NodelabError(
            f"lab {lab.name} is a joined lab (its nodes joined {lab.description.joined}): "
            "`nodelab proxy-plan` renders the plans of embedded labs only (a joined node's "
            "name in the cluster is not its lab name, so its local endpoints would be missed)")
    node = lab.topology.node(node_name)
    state = read_state(client_for(lab.kubeconfig))
    proxy_node = ProxyNode(node.name)
    if mode == "ipvs":
        addresses, read = node_addresses(node)
        try:
            plan = render_ipvs(state, proxy_node, addresses, scheduler=scheduler)
        except ValueError as exc:
            raise NodelabError(str(exc)) from None
        text = show_ipvs(plan, node=node.name)
        if not read:
            text += (f"# NodePort addresses assumed ({', '.join(addresses)}): not root, the "
                     "node's own addresses could not be read\n")
        return text
    other = render_plan(mode, state, proxy_node)
    body = other.payload if isinstance(other, IptablesPlan) else other.script
    running = lab.description.proxy_mode
    note = "" if running == mode else f" (the lab runs {running} mode)"
    return f"== kube-proxy {mode} mode on {node.name}: {NOT_APPLIED}{note} ==\n{body}"
