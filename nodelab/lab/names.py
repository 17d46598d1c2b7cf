"""Every name a lab gives to what it creates, derived from the lab's name.

A lab named `a` owns the prefix `nla`: its bridge is `nla-br`, node `node1` lives in network
namespace `nla-node1` and is wired to the bridge by the veth `nla-veth1`, its cgroups live under
`nodelab/a/`. Link names must fit Linux's 15 characters, so a lab name is at most six lowercase
letters or digits (starting with a letter) and a lab has at most 99 nodes.

Cleanup relies on these rules: whatever carries the prefix `nl<name>-` belongs to the lab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nodelab.errors import NodelabError

DEFAULT_LAB = "demo"
MAX_NODES = 99
_LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,5}$")


class InvalidLabName(NodelabError):
    pass


def validate_lab_name(name: str) -> str:
    if not _LAB_NAME.match(name):
        raise InvalidLabName(
            f"invalid lab name {name!r}: use 1 to 6 lowercase letters or digits, starting with a "
            "letter (link names built from it must fit Linux's 15 characters)"
        )
    return name


@dataclass(frozen=True)
class LabNames:
    """The names of one lab's resources."""

    lab: str

    def __post_init__(self) -> None:
        validate_lab_name(self.lab)

    @property
    def prefix(self) -> str:
        return f"nl{self.lab}"

    @property
    def bridge(self) -> str:
        return f"{self.prefix}-br"

    @property
    def service_bridge(self) -> str:
        """The port-less bridge inside each node namespace that the service CIDR is routed to."""
        return f"{self.prefix}-svc"

    def node(self, index: int) -> str:
        """The name of node number `index` (1-based), as the lab and Kubernetes know it."""
        if not 1 <= index <= MAX_NODES:
            raise NodelabError(f"a lab has 1 to {MAX_NODES} nodes, not {index}")
        return f"node{index}"

    def node_netns(self, index: int) -> str:
        return f"{self.prefix}-{self.node(index)}"

    def node_veth(self, index: int) -> str:
        """The root-namespace end of the node's veth (the node's end is `eth0`)."""
        return f"{self.prefix}-veth{index}"

    def cgroup(self) -> str:
        """The lab's cgroup, relative to each controller's root (v1) or the unified root (v2)."""
        return f"nodelab/{self.lab}"

    def owns(self, resource_name: str) -> bool:
        """True when a netns or link name carries this lab's prefix."""
        return resource_name.startswith(self.prefix + "-")
