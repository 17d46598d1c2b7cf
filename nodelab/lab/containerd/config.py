"""containerd's configuration when it is a lab node's CRI runtime (`nodelab up --runtime
containerd`), and when the test suites run it as a reference CRI peer.

Settings from `shared/reference/environment.md`: its own root, state and socket (never the
host's containerd), `restrict_oom_score_adj` (no CAP_SYS_RESOURCE here), a sandbox image from
the lab's (or test's) registry, that registry as a plain-http mirror, pod netns under its
state dir, and the given CNI directories. With `runc_root`, runc keeps its container state
there too (else in /run/containerd/runc), so a lab's `down` removes it with the state dir.
"""

from __future__ import annotations

from pathlib import Path

DISABLED = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.aufs"]


def containerd_config(base: Path, socket: Path, conf_dir: Path, registry: str,
                      bin_dir: str = "/usr/lib/cni",
                      sandbox_image: str | None = None, runc_root: Path | None = None) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    disabled = ", ".join(f'"{p}"' for p in DISABLED)
    options = (f'      [{cri}.containerd.runtimes.runc.options]\n        Root = "{runc_root}"\n'
               if runc_root else "")
    return f"""version = 2
root = "{base}/root"
state = "{base}/run"
disabled_plugins = [{disabled}]
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[{cri}]
  sandbox_image = "{sandbox_image or f"{registry}/pause:latest"}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [{cri}.cni]
    bin_dir = "{bin_dir}"
    conf_dir = "{conf_dir}"
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
{options}  [{cri}.registry.mirrors."{registry}"]
    endpoint = ["http://{registry}"]
"""
