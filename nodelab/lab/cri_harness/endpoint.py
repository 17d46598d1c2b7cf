"""A CRI endpoint under test: nodelab's runtime (or containerd) running inside a node netns.

Like the lab harness, the runtime runs inside a network namespace of its own (`nlt<id>-node`),
so the CNI bridge, portmap's iptables chains and pod routes live there and vanish with it. A
second docker-registry process serves the session registry's storage on 127.0.0.1:5000 inside
that namespace, so pulls stay on loopback.

Everything an endpoint makes on the host carries the prefix `nlt<id>` and is *claimed*
(lab/claims.py): when the endpoint ends, the claim's teardown removes it; if the process running
it dies first (a killed test run), the next test session or `nodelab down --all` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

import nodelab
from nodelab.cri import api_pb2 as cri
from nodelab.cri import api_pb2_grpc as cri_grpc
from nodelab.lab.claims import claimed, reap
from nodelab.lab.cri_harness.registry import LocalRegistry

REPO = Path(nodelab.__file__).resolve().parents[1]  # the runtime runs from this checkout
REGISTRY = "127.0.0.1:5000"


@dataclass
class Endpoint:
    name: str
    socket: Path
    uid: str
    node_netns: str
    state: Path
    registry: str = REGISTRY
    cgroup_base: str = "/pods"
    runtime: subprocess.Popen[bytes] | None = None
    restart: Any = None
    runtime_args: list[str] = field(default_factory=list)

    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"unix://{self.socket}")

    def runtime_stub(self) -> cri_grpc.RuntimeServiceStub:
        return cri_grpc.RuntimeServiceStub(self.channel())  # type: ignore[no-untyped-call]

    def image_stub(self) -> cri_grpc.ImageServiceStub:
        return cri_grpc.ImageServiceStub(self.channel())  # type: ignore[no-untyped-call]

    def image(self, name: str = "busybox") -> str:
        return f"{self.registry}/{name}:latest"


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def wait_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            channel = grpc.insecure_channel(f"unix://{path}")
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
                return
            except grpc.FutureTimeoutError:
                pass
            finally:
                channel.close()
        if proc.poll() is not None:
            raise RuntimeError(f"runtime exited with {proc.returncode}")
        time.sleep(0.05)
    raise RuntimeError(f"runtime socket {path} did not come up")


def cni_conflist(uid: str, state: Path) -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": f"nlt{uid}",
        "plugins": [
            {"type": "bridge", "bridge": f"nlt{uid}br", "isGateway": True, "ipMasq": False,
             "ipam": {"type": "host-local", "dataDir": str(state / "ipam"),
                      "ranges": [[{"subnet": "10.244.7.0/24"}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": False},
        ],
    }


@contextlib.contextmanager
def claimed_node(tmp: Path, registry: LocalRegistry, runtime_state: Path | None = None
                 ) -> Iterator[tuple[str, str, Path, subprocess.Popen[bytes]]]:
    """(id, node netns, state dir, registry process) of a new node, claimed for this process;
    `runtime_state` is nodelab's runtime's --state-dir, whose teardown the claim runs. When the
    block ends, everything with the node's prefix is removed (claims.reap)."""
    uid = secrets.token_hex(2)
    with claimed("runtime", tmp, prefix=f"nlt{uid}", runtime_state=runtime_state) as claim:
        registry_process = None
        try:
            node, state, registry_process = start_node(tmp, registry, uid)
            yield uid, node, state, registry_process
        finally:
            stop_process(registry_process)
            reap(claim)


def start_node(tmp: Path, registry: LocalRegistry, uid: str
               ) -> tuple[str, Path, subprocess.Popen[bytes]]:
    node = f"nlt{uid}-node"
    sh("ip", "netns", "add", node)
    sh("ip", "-n", node, "link", "set", "lo", "up")
    state = tmp / "state"
    state.mkdir(parents=True)
    config = tmp / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {registry.storage}\nhttp:\n  addr: {REGISTRY}\n")
    reg = subprocess.Popen(["ip", "netns", "exec", node, "docker-registry", "serve", str(config)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while sh("ip", "netns", "exec", node, "curl", "-sf", f"http://{REGISTRY}/v2/",
             check=False).returncode != 0:
        if time.time() > deadline:
            raise RuntimeError("registry in node netns did not start")
        time.sleep(0.1)
    return node, state, reg


def start_nodelab_runtime(endpoint: Endpoint, log: Path,
                          under: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """The runtime of `endpoint`, started by the command `under` (prepended to its argv) if any."""
    conf = endpoint.state / "cni-conf"
    conf.mkdir(exist_ok=True)
    (conf / "10-pods.conflist").write_text(json.dumps(cni_conflist(endpoint.uid, endpoint.state)))
    argv = [*under, "ip", "netns", "exec", endpoint.node_netns,  # as the lab supervisor does
            sys.executable, "-m", "nodelab.runtime",
            "--state-dir", str(endpoint.state / "runtime"), "--socket", str(endpoint.socket),
            "--cni-conf-dir", str(conf), "--cni-bin-dir", "/usr/lib/cni",
            "--cgroup-root", f"nodelab/nlt{endpoint.uid}", "--netns-prefix", f"nlt{endpoint.uid}",
            "--insecure-registry", REGISTRY,
            "--log-level", os.environ.get("NODELAB_RUNTIME_LOG", "WARNING"),
            *endpoint.runtime_args]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, cwd=REPO,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
    wait_socket(endpoint.socket, proc)
    return proc


def remove_everything(endpoint: Endpoint) -> None:
    """Remove every sandbox through CRI (what the kubelet would do at the end)."""
    try:
        stub = endpoint.runtime_stub()
        for sandbox in stub.ListPodSandbox(cri.ListPodSandboxRequest(), timeout=10).items:
            with contextlib.suppress(grpc.RpcError):
                stub.StopPodSandbox(cri.StopPodSandboxRequest(pod_sandbox_id=sandbox.id),
                                    timeout=60)
                stub.RemovePodSandbox(cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id),
                                      timeout=60)
    except grpc.RpcError:
        pass


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


@contextlib.contextmanager
def nodelab_endpoint(tmp: Path, registry: LocalRegistry,
                     runtime_args: list[str] | None = None) -> Iterator[Endpoint]:
    log = tmp / "runtime.log"
    with claimed_node(tmp, registry, tmp / "state" / "runtime") as (uid, node, state, _reg):
        endpoint = Endpoint("nodelab", tmp / "cri.sock", uid, node, state,
                            runtime_args=list(runtime_args or []))
        try:
            endpoint.runtime = start_nodelab_runtime(endpoint, log)

            def restart(sig: int = signal.SIGKILL, under: Sequence[str] = ()) -> None:
                stop_process(endpoint.runtime, sig)
                endpoint.runtime = start_nodelab_runtime(endpoint, log, under)

            endpoint.restart = restart
            yield endpoint
        finally:
            if endpoint.runtime is not None and endpoint.runtime.poll() is None:
                remove_everything(endpoint)
            stop_process(endpoint.runtime)
            sys.stderr.write(log.read_text()[-3000:] if log.exists() else "")
