"""Steps that wire the lab network (DESIGN.md section 4), applied from the topology plan.

Root namespace: only the lab bridge (`nl<lab>-br`, address = lab gateway) and one veth end per
node. Each node namespace: `lo`, `eth0` at the node's address, no default route, and the service
CIDR routed to a port-less bridge (`nl<lab>-svc`) so a Service packet that no DNAT rule catches
dies there instead of leaving the machine.
"""

from __future__ import annotations

import ipaddress

from nodelab.host import netlink
from nodelab.lab.context import LabContext
from nodelab.lab.ledger import Entry
from nodelab.lab.topology import NodePlan


class CreateLabBridge:
    name = "lab bridge"

    def execute(self, ctx: LabContext) -> None:
        topology = ctx.topology
        ctx.ledger.record(Entry("link", topology.bridge))
        netlink.ensure_bridge(topology.bridge)
        gateway = ipaddress.IPv4Interface(f"{topology.gateway}/{topology.subnet.prefixlen}")
        netlink.ensure_address(topology.bridge, gateway)


class CreateNodeNamespaces:
    name = "node namespaces"

    def execute(self, ctx: LabContext) -> None:
        for node in ctx.topology.nodes:
            ctx.progress(f"wiring {node.name}: netns {node.netns}, {node.ip}")
            self.wire(ctx, node)

    def wire(self, ctx: LabContext, node: NodePlan) -> None:
        topology = ctx.topology
        ctx.ledger.record(Entry("netns", node.netns))
        netlink.ensure_netns(node.netns)
        ctx.ledger.record(Entry("link", node.veth))
        netlink.ensure_veth_into(node.veth, node.netns, "eth0", master=topology.bridge)
        address = ipaddress.IPv4Interface(f"{node.ip}/{topology.subnet.prefixlen}")
        netlink.ensure_address("eth0", address, namespace=node.netns)
        netlink.ensure_bridge(topology.service_bridge, namespace=node.netns)
        netlink.ensure_route(
            topology.service_cidr, device=topology.service_bridge, namespace=node.netns
        )
