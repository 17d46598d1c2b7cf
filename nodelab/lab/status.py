"""What `nodelab status` reports: the lab, its addresses and every daemon's PID, state,
restarts and last exit (the supervisor's view, supervision/)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nodelab.lab.daemons import DaemonStatus


@dataclass(frozen=True)
class NodeStatus:
    name: str
    netns: str
    ip: str
    cri_socket: str
    pod_cidr: str | None
    netns_present: bool
    daemons: tuple[DaemonStatus, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "netns": self.netns,
            "ip": self.ip,
            "cri_socket": self.cri_socket,
            "pod_cidr": self.pod_cidr,
            "netns_present": self.netns_present,
            "daemons": [d.to_json() for d in self.daemons],
        }


@dataclass(frozen=True)
class LabStatus:
    name: str
    exists: bool
    gateway: str | None = None
    subnet: str | None = None
    registry: str | None = None
    apiserver: str | None = None
    kubeconfig: str | None = None
    state_dir: str = ""
    proxy_mode: str | None = None
    runtime: str | None = None  # every node's CRI runtime: nodelab | containerd
    restart_backoff_cap: str | None = None  # the kubelets' crashLoopBackOff cap, e.g. "10s"
    daemons: tuple[DaemonStatus, ...] = ()
    nodes: tuple[NodeStatus, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        every = list(self.daemons) + [d for n in self.nodes for d in n.daemons]
        return (
            self.exists
            and all(d.state == "running" for d in every)
            and all(n.netns_present for n in self.nodes)
        )

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "exists": self.exists,
            "healthy": self.healthy,
            "gateway": self.gateway,
            "subnet": self.subnet,
            "registry": self.registry,
            "apiserver": self.apiserver,
            "kubeconfig": self.kubeconfig,
            "state_dir": self.state_dir,
            "proxy_mode": self.proxy_mode,
            "runtime": self.runtime,
            "restart_backoff_cap": self.restart_backoff_cap,
            "daemons": [d.to_json() for d in self.daemons],
            "nodes": [n.to_json() for n in self.nodes],
        }

    def render(self) -> str:
        if not self.exists:
            return f"lab {self.name}: not up (start it with `nodelab up --name {self.name}`)"
        lines = [
            f"lab {self.name}: {'healthy' if self.healthy else 'DEGRADED'}",
            f"  network     {self.subnet} (gateway {self.gateway})",
            f"  registry    {self.registry}",
            f"  api server  {self.apiserver}",
            f"  kubeconfig  {self.kubeconfig}",
            f"  state dir   {self.state_dir}",
            f"  runtime     {self.runtime} (CRI)",
            f"  kube-proxy  {self.proxy_mode} mode",
            f"  kubelets    CrashLoopBackOff capped at {self.restart_backoff_cap}",
        ]
        for daemon in self.daemons:
            lines.append(f"  {daemon.name:<11} {describe(daemon)}")
        for node in self.nodes:
            present = "" if node.netns_present else " (netns MISSING)"
            lines.append(f"  node {node.name}: {node.ip} in netns {node.netns}{present}")
            lines.append(f"    cri socket {node.cri_socket}, pod CIDR {node.pod_cidr or '-'}")
            for daemon in node.daemons:
                lines.append(f"    {daemon.name:<18} {describe(daemon)}")
        return "\n".join(lines)


def describe(daemon: DaemonStatus) -> str:
    """`running (pid 812), 2 restarts, last exit signal 9 (SIGKILL) at 2026-...Z after 31.0s`"""
    text = f"{daemon.state} (pid {daemon.pid})" if daemon.pid else daemon.state
    if daemon.reason and daemon.state != "running":
        text += f": {daemon.reason}"
    if daemon.restarts:
        text += f", {daemon.restarts} restart{'s' if daemon.restarts != 1 else ''}"
    if daemon.last_exit is not None:
        last = daemon.last_exit
        text += f", last exit {last.status} at {last.at} after {last.ran_for:.1f}s"
    return text
