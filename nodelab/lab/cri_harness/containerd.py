"""containerd (Debian 1.6) as the second CRI endpoint of the behaviour suite.

Settings from shared/reference/environment.md: `restrict_oom_score_adj` (no CAP_SYS_RESOURCE
here), a pause image from the test registry as `sandbox_image`, that registry as an http mirror,
the same CNI conflist as nodelab's runtime, and `netns_mounts_under_state_dir` so its pod netns
live in the test's tmp dir (not /run/netns under names without the `nl` prefix). It runs inside
its own node netns, like nodelab's runtime; pod cgroups go under `nodelab/nlt<id>/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from nodelab.lab.containerd.config import containerd_config
from nodelab.lab.containerd.host_files import HostFiles
from nodelab.lab.cri_harness.endpoint import (
    REGISTRY,
    Endpoint,
    claimed_node,
    cni_conflist,
    remove_everything,
    stop_process,
    wait_socket,
)
from nodelab.lab.cri_harness.registry import LocalRegistry


def containerd_missing() -> str:
    if shutil.which("containerd") is None:
        return "containerd is not installed (apt install containerd): comparison skipped"
    if shutil.which("containerd-shim-runc-v2") is None:
        return "containerd-shim-runc-v2 is missing: comparison skipped"
    return ""


def shim_pids(socket: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if cmdline and cmdline[0].endswith(b"containerd-shim-runc-v2") and \
                    str(socket).encode() in b" ".join(cmdline):
                pids.append(int(proc.name))
    return pids


@contextlib.contextmanager
def containerd_endpoint(tmp: Path, registry: LocalRegistry) -> Iterator[Endpoint]:
    host = HostFiles(tmp / "state" / "run")  # the shims' sockets in /run/containerd/s
    try:
        with claimed_node(tmp, registry) as (uid, node, state, _registry):
            socket = tmp / "containerd.sock"
            endpoint = Endpoint("containerd", socket, uid, node, state,
                                cgroup_base=f"/nodelab/nlt{uid}/pods")
            conf_dir = state / "cni-conf"
            conf_dir.mkdir()
            (conf_dir / "10-pods.conflist").write_text(json.dumps(cni_conflist(uid, state)))
            config = tmp / "containerd.toml"
            config.write_text(containerd_config(state, socket, state / "cni-conf", REGISTRY,
                                                 runc_root=state / "runc"))
            log = tmp / "containerd.log"
            proc = None
            try:
                with open(log, "ab") as out:
                    proc = subprocess.Popen(["nsenter", f"--net=/run/netns/{node}", "containerd",
                                             "--config", str(config)], stdout=out, stderr=out)
                endpoint.runtime = proc
                wait_socket(socket, proc)
                yield endpoint
            finally:
                host.note_sockets()
                if proc is not None and proc.poll() is None:
                    remove_everything(endpoint)
                stop_process(proc)
                for pid in shim_pids(socket):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
    finally:  # after the claim's teardown has unmounted what was under the state dir
        shutil.rmtree(tmp / "state" / "root", ignore_errors=True)
        host.clean()
