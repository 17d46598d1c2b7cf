"""`Lab`: bring a lab up, look at it, take it down (the Python API behind the CLI).

`Lab.up(name, nodes)` runs the steps of `up` in order (kind-style: each step has a name and
one `execute(context)` that is safe to repeat), under the lab's lock, so a second `up` of a lab
that is already up only checks it. `lab.down()` (or leaving a `with Lab.up(...)` block) undoes
everything from the ledger and by name. `Lab.get(name)` attaches to a lab that is up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from nodelab.errors import NodelabError
from nodelab.host import netlink
from nodelab.lab.addons.cluster_dns import DeployClusterDNS
from nodelab.lab.addons.metrics_server import DeployMetricsServer
from nodelab.lab.cleanup import take_down
from nodelab.lab.context import LabContext, Progress
from nodelab.lab.daemons import DaemonStatus, Supervisor
from nodelab.lab.description import LabDescription
from nodelab.lab.join.kubeconfigs import ClusterAccess
from nodelab.lab.join.membership import check_reachable, forget_nodes, prepare_join
from nodelab.lab.join.steps import join_steps, kube_node_name
from nodelab.lab.ledger import Ledger
from nodelab.lab.lock import locked
from nodelab.lab.names import DEFAULT_LAB, LabNames
from nodelab.lab.paths import LabPaths, state_base
from nodelab.lab.preconditions import (
    IPVS_MODE,
    check_node_count,
    check_privileges,
    check_socket_path,
    refuse_ipvs_mode,
)
from nodelab.lab.registry.daemon import StartRegistry
from nodelab.lab.registry.demo_images import DemoImages, PushDemoImages
from nodelab.lab.scripting.face import LabScripting
from nodelab.lab.settings.kubelet import check_kubelet_config
from nodelab.lab.settings.up import (
    DEFAULT_NODES,
    DEFAULT_PROXY_MODE,
    DEFAULT_RUNTIME,
    NODE_MONITOR_GRACE,
    PROXY_MODES,
    RESTART_BACKOFF,
    UpSettings,
    check_runtime,
    check_same,
)
from nodelab.lab.settings_changes import LabSettingsChanges
from nodelab.lab.status import LabStatus, NodeStatus
from nodelab.lab.supervision.client import stop_supervision
from nodelab.lab.supervision.units import Action
from nodelab.lab.topology import APISERVER_PORT, Topology, choose_subnet
from nodelab.lab.up.controlplane import StartControlPlane
from nodelab.lab.up.network import CreateLabBridge, CreateNodeNamespaces
from nodelab.lab.up.node_daemons import StartNodeDaemons
from nodelab.lab.up.wait_ready import WaitNodesReady


class Step(Protocol):
    name: str

    def execute(self, ctx: LabContext) -> None: ...


def up_steps() -> Sequence[Step]:
    return (CreateLabBridge(), CreateNodeNamespaces(), StartRegistry(), PushDemoImages(),
            StartControlPlane(), StartNodeDaemons(), WaitNodesReady(), DeployClusterDNS(),
            DeployMetricsServer())


def _execute(steps: Sequence[Step], ctx: LabContext) -> None:
    for step in steps:
        ctx.progress(step.name)
        step.execute(ctx)


def _quiet(_message: str) -> None:
    """The default progress: say nothing (the CLI passes a printer)."""


class Lab(LabScripting, LabSettingsChanges):
    """A running lab. Create with `Lab.up(...)`, attach with `Lab.get(name)`; script it with
    `api()`, `apply()`, `wait_for()` and `node()` (scripting/, docs/api.md); change a running
    lab's settings with `set_node_monitor_grace_period` and `set_kubelet_config`
    (settings_changes.py)."""

    def __init__(self, description: LabDescription, base: Path | None = None) -> None:
        self.description = description
        self.names = LabNames(description.name)
        self.paths = LabPaths.for_lab(description.name, base)

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        name: str = DEFAULT_LAB,
        nodes: int | None = None,
        *,
        proxy_mode: str | None = None,
        max_restart_backoff: float | None = None,
        runtime: str | None = None,
        node_monitor_grace_period: float | None = None,
        kubelet_config: Mapping[str, Any] | None = None,
        base: Path | None = None,
        progress: Progress | None = None,
    ) -> Lab:
        """Bring lab `name` up with `nodes` nodes (or check it, if it is up already);
        `proxy_mode` is kube-proxy's mode on every node (`iptables` or `nftables`);
        `max_restart_backoff` (seconds, 1 to 300) caps every kubelet's CrashLoopBackOff;
        `runtime` is every node's CRI runtime (`nodelab`, or Debian's `containerd`, which must
        be installed); `node_monitor_grace_period` (seconds, 20 to 600) is how long the node
        lifecycle controller waits for a node's heartbeat before it marks the node Unknown
        (kube-controller-manager's --node-monitor-grace-period); `kubelet_config` holds
        `KubeletConfiguration` fields every kubelet gets, e.g. `{"evictionHard":
        {"memory.available": "1Gi"}}` (settings/kubelet.py). A setting left None is
        whatever the lab has if it is up already (only an explicitly different one is an
        error), else its default: 1 node, iptables, upstream's 300 s cap, nodelab, upstream's
        50 s grace period, no kubelet fields beyond the lab's own (see settings/up.py).
        `progress` is called with each step's name as it starts (default: nothing is
        printed)."""
        names = LabNames(name)
        kubelet_fields = check_kubelet_config(kubelet_config)
        wanted = UpSettings(nodes, proxy_mode, max_restart_backoff, runtime,
                            node_monitor_grace_period, kubelet_fields)
        if proxy_mode == IPVS_MODE:
            refuse_ipvs_mode(f"bring lab {name} up")
        if proxy_mode is not None and proxy_mode not in PROXY_MODES:
            raise NodelabError(f"proxy mode {proxy_mode!r}: choose one of "
                               f"{', '.join(PROXY_MODES)}")
        RESTART_BACKOFF.check(max_restart_backoff)
        NODE_MONITOR_GRACE.check(node_monitor_grace_period)
        if runtime is not None:
            check_runtime(runtime)
        if nodes is not None:
            check_node_count(nodes)
        check_privileges(f"bring lab {name} up")
        paths = LabPaths.for_lab(name, base)
        check_socket_path(paths.cri_socket(names.node(nodes or DEFAULT_NODES)),
                          runtime or DEFAULT_RUNTIME)  # before the lock makes the lab's dir
        say = progress or _quiet
        with locked(paths):
            description = LabDescription.load(paths.description)
            if description is not None and description.joined:
                raise NodelabError(
                    f"lab {name} is a joined lab (its nodes joined {description.joined}), not "
                    f"an embedded one: take it down first (`nodelab down --name {name}`) or "
                    "pick another name")
            if description is None:
                subnet = choose_subnet(name, netlink.host_routes())
                description = LabDescription(
                    name, subnet, nodes if nodes is not None else DEFAULT_NODES,
                    proxy_mode or DEFAULT_PROXY_MODE, max_restart_backoff,
                    runtime or DEFAULT_RUNTIME,
                    node_monitor_grace_period=node_monitor_grace_period,
                    kubelet_config=kubelet_fields or None)
                description.save(paths.description)
            else:
                check_same(name, wanted, description.nodes, description.proxy_mode,
                           description.max_restart_backoff, description.runtime,
                           description.node_monitor_grace_period, description.kubelet_config)
            _execute(up_steps(), LabContext.of(names, paths, description, say))
        return cls(description, base)

    @classmethod
    def join(
        cls,
        kubeconfig: Path | str,
        name: str = "joined",
        nodes: int = 1,
        *,
        allow_registries: Sequence[str] = (),
        base: Path | None = None,
        progress: Progress | None = None,
    ) -> Lab:
        """Join `nodes` nodelab nodes to the cluster of `kubeconfig` (an admin kubeconfig) as
        lab `name`, which has no control plane of its own (see join.py and docs/join.md);
        `allow_registries` (HOST or HOST:PORT; `docker.io` for Docker Hub) are the only
        outside registries its runtimes may pull from, through the lab's CONNECT proxy."""
        names = LabNames(name)
        paths = LabPaths.for_lab(name, base)
        say = progress or _quiet
        # a missing or bad file, or a cluster that does not answer, fails before anything
        check_reachable(ClusterAccess.load(Path(kubeconfig)))
        with locked(paths):
            description = prepare_join(Path(kubeconfig), name, nodes, paths,
                                       LabDescription.load(paths.description),
                                       allow_registries)
            _execute(join_steps(), LabContext.of(names, paths, description, say))
        return cls(description, base)

    @classmethod
    def get(cls, name: str = DEFAULT_LAB, *, base: Path | None = None) -> Lab:
        """The lab `name`, which must have been brought up."""
        LabNames(name)
        description = LabDescription.load(LabPaths.for_lab(name, base).description)
        if description is None:
            raise NodelabError(f"lab {name} is not up (start it with `nodelab up --name {name}`)")
        return cls(description, base)

    def down(self, progress: Progress | None = None) -> None:
        """Stop every process of the lab and remove every trace of it."""
        take_down_lab(self.names.lab, self.paths.root.parent, progress)

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down(progress=lambda _message: None)

    # --- facts -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.description.name

    @property
    def topology(self) -> Topology:
        return self.description.topology

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (written once the control plane runs)."""
        return self.paths.kubeconfig

    @property
    def images(self) -> DemoImages:
        return DemoImages(self.topology.registry)

    def status(self) -> LabStatus:
        return lab_status(self.name, self.paths.root.parent)

    # --- daemons, through the lab supervisor ------------------------------------------------

    def stop_daemon(self, daemon: str, node: str | None = None) -> DaemonStatus:
        """Stop a daemon (`kubelet` of `node="node1"`, or the lab's `controlplane`,
        `controllers`, `registry`): it stays stopped, not restarted, until started again
        (`start_daemon`, `restart_daemon` or `Lab.up`)."""
        return self._daemon(daemon, node, "stop")

    def start_daemon(self, daemon: str, node: str | None = None) -> DaemonStatus:
        """Start a stopped (or failed) daemon again; nothing if it runs."""
        return self._daemon(daemon, node, "start")

    def restart_daemon(self, daemon: str, node: str | None = None) -> DaemonStatus:
        """Stop the daemon (SIGTERM, SIGKILL after its grace period) and start it again."""
        return self._daemon(daemon, node, "restart")

    def _daemon(self, daemon: str, node: str | None, action: Action) -> DaemonStatus:
        return lab_daemon(self.name, daemon, node, action, self.paths.root.parent)

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, nodes={self.description.nodes}, subnet={self.topology.subnet})"


def take_down_lab(name: str, base: Path | None = None, progress: Progress | None = None) -> None:
    names = LabNames(name)
    paths = LabPaths.for_lab(name, base)
    say = progress or (lambda _message: None)
    description = LabDescription.load(paths.description)
    if description is not None and description.joined:
        # the daemons stop first: a running kubelet would register its Node (and Lease) again
        ledger = Ledger(paths.ledger)
        supervisor = Supervisor(name, paths, ledger)
        stop_supervision(name, paths)
        daemons = list(dict.fromkeys(e.name for e in ledger.entries() if e.kind == "daemon"))
        if daemons:
            say(f"stopping {', '.join(daemons)}")
        supervisor.stop(daemons)
        forget_nodes(name, paths, say)
    take_down(names, paths, progress)


def lab_daemon(name: str, daemon: str, node: str | None, action: Action,
               base: Path | None = None) -> DaemonStatus:
    """Have the supervisor of lab `name` `start`, `stop` or `restart` one daemon."""
    paths = LabPaths.for_lab(name, base)
    description = LabDescription.load(paths.description)
    if description is None:
        raise NodelabError(f"lab {name} is not up (start it with `nodelab up --name {name}`)")
    nodes = [n.name for n in description.topology.nodes]
    if node is not None and node not in nodes:
        raise NodelabError(f"lab {name} has no node {node} (its nodes: {', '.join(nodes)})")
    full = f"{node}/{daemon}" if node else daemon
    return Supervisor(name, paths, Ledger(paths.ledger)).request(full, action)


def known_labs(base: Path | None = None) -> list[str]:
    root = base or state_base()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "lab.json").exists()
                  or (p / "ledger.jsonl").exists())


def lab_status(name: str, base: Path | None = None) -> LabStatus:
    names = LabNames(name)
    paths = LabPaths.for_lab(name, base)
    description = LabDescription.load(paths.description)
    if description is None:
        return LabStatus(name=name, exists=False, state_dir=str(paths.root))
    topology = description.topology
    supervisor = Supervisor(name, paths, Ledger(paths.ledger))
    present = set(netlink.list_netns())
    nodes = tuple(
        NodeStatus(
            name=kube_node_name(name, node) if description.joined else node.name,
            netns=node.netns,
            ip=str(node.ip),
            cri_socket=str(paths.cri_socket(node.name)),
            pod_cidr=None,
            netns_present=node.netns in present,
            daemons=tuple(
                supervisor.status(f"{node.name}/{daemon}")
                for daemon in daemon_names(paths, node.name)
            ),
        )
        for node in topology.nodes
    )
    return LabStatus(
        name=names.lab,
        exists=True,
        gateway=str(topology.gateway),
        subnet=str(topology.subnet),
        registry=topology.registry,
        apiserver=(f"{description.joined} (joined, through the API relay on "
                   f"{topology.gateway}:{APISERVER_PORT})" if description.joined
                   else topology.apiserver_url),
        kubeconfig=str(paths.kubeconfig),
        state_dir=str(paths.root),
        proxy_mode=description.proxy_mode,
        runtime=description.runtime,
        restart_backoff_cap=RESTART_BACKOFF.text(description.max_restart_backoff),
        daemons=tuple(supervisor.status(daemon) for daemon in daemon_names(paths, None)),
        nodes=nodes,
    )


def daemon_names(paths: LabPaths, node: str | None) -> list[str]:
    """The daemons with units or pidfiles (the supervisor among them): the lab's own (`node`
    None) or those of one node."""
    if not paths.run.is_dir():
        return []
    stems = sorted({p.name.split(".")[0] for p in paths.run.glob("*.pid")}
                   | {p.name.split(".")[0] for p in paths.run.glob("*.unit.json")})
    if node is None:
        return [s for s in stems if not re.match(r"^node\d+-", s)]
    return [s[len(node) + 1:] for s in stems if s.startswith(f"{node}-")]
