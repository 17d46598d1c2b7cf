"""What `up` asks of a lab that is up already: a setting not given means "whatever it has".

`Lab.up(name)` (and `nodelab up` without flags) on a lab made with `--nodes 2`, a restart
backoff cap or `--runtime containerd` checks that lab as it is; only a setting given
explicitly and different from the lab's is an error (changing it needs `nodelab down`). For a
new lab, a setting not given takes its default: 1 node, iptables, upstream's 300 s backoff
cap, the nodelab runtime, upstream's 50 s node monitor grace period, no kubelet config fragment
(kubelet.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodelab.errors import NodelabError
from nodelab.lab.settings.kubelet import same_kubelet_config

DEFAULT_NODES = 1
DEFAULT_PROXY_MODE = "iptables"
DEFAULT_RUNTIME = "nodelab"


@dataclass(frozen=True)
class SecondsSetting:
    """A setting in seconds: upstream's default (what a lab's None means) and its range."""

    name: str
    default: float
    low: float
    high: float
    bounds_of: str  # whose bounds they are, as the refusal says it
    why: str  # the refusal's last words, in parentheses

    def text(self, seconds: float | None) -> str:
        return f"{self.default:g}s (upstream default)" if seconds is None else f"{seconds:g}s"

    def same(self, a: float | None, b: float | None) -> bool:
        return (a if a is not None else self.default) == (b if b is not None else self.default)

    def check(self, seconds: float | None) -> None:
        """Refuse `seconds` outside the range (None, not given, passes)."""
        if seconds is not None and not self.low <= seconds <= self.high:
            raise NodelabError(
                f"{self.name} {seconds:g}s is out of range: {self.bounds_of} must be "
                f"{self.low:g}s to {self.high:g}s ({self.why})")


RESTART_BACKOFF = SecondsSetting(  # upstream's bounds of maxContainerRestartPeriod
    "max restart backoff", 300.0, 1.0, 300.0,
    "the kubelet's crashLoopBackOff.maxContainerRestartPeriod", "e.g. 10s for short demos")
# the low end is above twice the kubelets' 10 s lease renewal (a 40 s lease renewed at a
# quarter of it), so a healthy node never misses the grace period and flaps to Unknown
NODE_MONITOR_GRACE = SecondsSetting(
    "node monitor grace period", 50.0, 20.0, 600.0, "it",
    "the lab's kubelets renew their Lease every 10s; a shorter grace period marks healthy "
    "nodes Unknown")


@dataclass(frozen=True)
class UpSettings:
    """The settings `up` was given; None: not given."""

    nodes: int | None = None
    proxy_mode: str | None = None
    max_restart_backoff: float | None = None
    runtime: str | None = None
    node_monitor_grace_period: float | None = None
    kubelet_config: Mapping[str, Any] | None = None


def conflicts(name: str, wanted: UpSettings, nodes: int, proxy_mode: str,
              max_restart_backoff: float | None, runtime: str,
              node_monitor_grace_period: float | None = None,
              kubelet_config: Mapping[str, Any] | None = None) -> list[str]:
    """What `wanted` asks explicitly that lab `name` (up with the other arguments) is not."""
    found: list[str] = []
    if wanted.nodes is not None and wanted.nodes != nodes:
        found.append(f"{nodes} node(s), not {wanted.nodes}")
    if wanted.proxy_mode is not None and wanted.proxy_mode != proxy_mode:
        found.append(f"kube-proxy in {proxy_mode} mode, not {wanted.proxy_mode}")
    if wanted.max_restart_backoff is not None \
            and not RESTART_BACKOFF.same(wanted.max_restart_backoff, max_restart_backoff):
        found.append(f"a restart backoff cap of {RESTART_BACKOFF.text(max_restart_backoff)}, "
                     f"not {RESTART_BACKOFF.text(wanted.max_restart_backoff)}")
    if wanted.runtime is not None and wanted.runtime != runtime:
        found.append(f"the {runtime} runtime, not {wanted.runtime}")
    grace = NODE_MONITOR_GRACE
    if wanted.node_monitor_grace_period is not None \
            and not grace.same(wanted.node_monitor_grace_period, node_monitor_grace_period):
        found.append(f"a node monitor grace period of {grace.text(node_monitor_grace_period)}, "
                     f"not {grace.text(wanted.node_monitor_grace_period)} (a running lab "
                     "changes it with Lab.set_node_monitor_grace_period)")
    if wanted.kubelet_config is not None \
            and not same_kubelet_config(wanted.kubelet_config, kubelet_config):
        found.append(f"the kubelet config {dict(kubelet_config or {})}, not "
                     f"{dict(wanted.kubelet_config)} (a running lab changes it with "
                     "Lab.set_kubelet_config)")
    return found


def check_same(name: str, wanted: UpSettings, nodes: int, proxy_mode: str,
               max_restart_backoff: float | None, runtime: str,
               node_monitor_grace_period: float | None = None,
               kubelet_config: Mapping[str, Any] | None = None) -> None:
    """Raise a NodelabError naming every explicit setting lab `name` does not have."""
    found = conflicts(name, wanted, nodes, proxy_mode, max_restart_backoff, runtime,
                      node_monitor_grace_period, kubelet_config)
    if found:
        raise NodelabError(
            f"lab {name} is up with {'; '.join(found)}: take it down first "
            f"(`nodelab down --name {name}`), or leave the setting out to use the lab as it is")


PROXY_MODES = ("iptables", "nftables")
RUNTIMES = ("nodelab", "containerd")


def check_runtime(runtime: str) -> None:
    if runtime not in RUNTIMES:
        raise NodelabError(f"runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
    if runtime == "containerd" and shutil.which("containerd") is None:
        raise NodelabError("the containerd runtime needs Debian's containerd and runc "
                           "(apt-get install containerd runc), or choose --runtime nodelab")
