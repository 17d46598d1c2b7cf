"""A node's CRI runtime daemon: nodelab's own (`python -m nodelab.runtime`) or containerd.

The lab's `runtime` (`nodelab up --runtime containerd`, `Lab.up(..., runtime="containerd")`)
picks it for every node. Either way it serves CRI v1 on `nodes/<n>/runtime.sock`, inside the
node's network namespace, and calls the CNI plugins nodelab ships with the conflist the node's
`podnet` writes, so the kubelet, the pod network and kube-proxy do not change, and learners can
compare the two runtimes on the same lab (`benchmarks/kubelet/pod_startup.py` does).

containerd (Debian's 1.6) gets a config of its own (`containerd_config.py`): root, state,
runc's state and the pod network namespaces all under `nodes/<n>/containerd/`, the lab
registry as a plain-http mirror and its `pause` image as the sandbox image; `podnet` writes
the conflist as CNI 1.0.0, the newest its libcni reads. Its shims inherit
`NODELAB_LAB`, so `down` ends them with every other lab process; the pods' cgroups are under
the kubelet's cgroupRoot (`nodelab/<lab>/<node>`), their mounts and netns under the state dir,
their veths in the node's namespace: `down` removes all of it as it does for nodelab's runtime.
Only the shims' sockets live outside, in /run/containerd/s (containerd_host.py): the ledger
records whether nodelab makes that directory, and `down` unlinks the lab's sockets and removes
what it made.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nodelab.cni import default_plugin_path
from nodelab.lab.containerd.config import containerd_config
from nodelab.lab.containerd.host_files import host_dirs_before_start
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, unix_socket_ready
from nodelab.lab.ledger import Entry, Ledger
from nodelab.lab.registry.demo_images import DemoImages
from nodelab.lab.topology import NodePlan

NODELAB_CNI_BIN = Path(default_plugin_path()[0])  # nodelab's plugins: bridge, host-local, ...


def cni_version(runtime: str) -> str:
    """The cniVersion of the node's conflist: 1.1.0, or 1.0.0 for containerd 1.6's libcni."""
    return "1.0.0" if runtime == "containerd" else "1.1.0"


def record_host_dirs(ledger: Ledger) -> None:
    """Write down, before containerd starts, whether nodelab makes /run/containerd(/s) (its
    shims' socket dir, outside the lab): `down` removes only what it made, if empty. The first
    record of a path wins (a second `up` finds the dirs the first one made)."""
    known = {e.name for e in ledger.entries() if e.kind == "host-dir"}
    for path, how in host_dirs_before_start():
        if str(path) not in known:
            ledger.record(Entry("host-dir", str(path), detail=how))


def runtime_spec(ctx: LabContext, node: NodePlan, cni_conf: Path, cgroup_root: str
                 ) -> DaemonSpec:
    """The daemon that serves CRI for `node`, per the lab's runtime."""
    paths, topology = ctx.paths, ctx.topology
    socket = paths.cri_socket(node.name)
    env = {"NODELAB_NODE": node.name}
    if ctx.description.runtime == "containerd":
        record_host_dirs(ctx.ledger)
        base = paths.node(node.name) / "containerd"
        base.mkdir(parents=True, exist_ok=True)
        config = base / "config.toml"
        config.write_text(containerd_config(base, socket, cni_conf, topology.registry,
                                            bin_dir=str(NODELAB_CNI_BIN),
                                            sandbox_image=DemoImages(topology.registry).ref("pause"),
                                            runc_root=base / "runc"))
        return DaemonSpec(
            name=f"{node.name}/runtime",
            argv=("containerd", "--config", str(config)),
            netns=node.netns, env=env, ready=unix_socket_ready(socket),
        )
    plugin_path = ":".join(str(p) for p in default_plugin_path())
    return DaemonSpec(
        name=f"{node.name}/runtime",
        argv=(sys.executable, "-m", "nodelab.runtime",
              "--state-dir", str(paths.node(node.name) / "runtime"),
              "--socket", str(socket),
              "--cni-conf-dir", str(cni_conf), "--cni-bin-dir", plugin_path,
              "--cgroup-root", cgroup_root,
              "--netns-prefix", node.netns,
              "--insecure-registry", topology.registry,
              # every port of the lab gateway is the lab's own plain-http service (a second,
              # authenticated registry in tests, say), as a CIDR entry of Docker's list
              "--insecure-registry", f"{topology.gateway}/32",
              "--stream-address", str(node.ip)),
        netns=node.netns, env=env, ready=unix_socket_ready(socket),
    )
