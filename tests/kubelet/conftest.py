"""Fixtures for the kubelet tests: a real API server, a real CRI runtime, kubelet processes.

Nothing is mocked. The API server is `python -m nodelab.controlplane` on 127.0.0.1 with a tmp
state dir; the runtime is `python -m nodelab.runtime` (or containerd, in test_containerd.py)
on a unix socket in a tmp dir; the kubelet is `python -m nodelab.kubelet` with short
intervals. Every process is started here and ended by its PID in the fixture's finally.
Tests skip, saying why, when a component has not landed or the host cannot run it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodelab.cni.server import SOCKET_ENV, start_in_netns
from nodelab.host.processes import ProcessId
from nodelab.lab.claims import claimed, reap, with_process
from tests.kubelet.processes import (
    ControlPlane,
    KubeletFactory,
    KubeletRun,
    Process,
    Runtime,
    free_port,
    running_controlplane,
    wait_for,
)
from tests.kubelet.workload import PodRunner, Registry, local_registry


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    if not _have("nodelab.controlplane.__main__") or not _have("nodelab.controlplane.auth.pki"):
        pytest.skip("nodelab.controlplane (issue: API server) has not landed yet")
    with running_controlplane(tmp_path_factory.mktemp("cp")) as cp:
        yield cp


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """nodelab's CRI runtime on a tmp socket, with an empty CNI conf dir."""
    if not _have("nodelab.runtime.__main__") or not _have("nodelab.runtime.server"):
        pytest.skip("nodelab.runtime (issue: CRI runtime) has not landed yet")
    if os.geteuid() != 0:
        pytest.skip("the runtime needs root (cgroups, mounts)")
    base = tmp_path / "rt"
    conf = base / "cni"
    conf.mkdir(parents=True)
    sock = base / "cri.sock"
    cgroup = f"nlkt{os.urandom(2).hex()}"
    process = Process([sys.executable, "-m", "nodelab.runtime", "--state-dir",
                       str(base / "state"), "--socket", str(sock), "--cni-conf-dir", str(conf),
                       "--cgroup-root", f"nodelab/{cgroup}"],
                      base / "runtime.log")
    # claimed (nodelab/lab/claims.py): if this test run dies, the next one removes it all
    with claimed("runtime", base, prefix=cgroup, runtime_state=base / "state") as claim:
        try:
            process.start()
            claim = with_process(claim, process.id())
            wait_for(sock.exists, 20, f"the runtime socket {sock}:\n{process.output()}")
            yield Runtime(f"unix://{sock}", conf, process)
        finally:
            process.stop()
            reap(claim)


@pytest.fixture(scope="module")
def start_kubelet(controlplane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[KubeletFactory]:
    runs: list[KubeletRun] = []
    tmp_path = tmp_path_factory.mktemp("kubelets")

    def start(endpoint: str, config: dict[str, Any] | None = None, *extra: str,
              name: str | None = None, cp: ControlPlane | None = None) -> KubeletRun:
        cp = cp or controlplane
        name = name or f"nlkt-{os.urandom(3).hex()}"
        base = tmp_path / f"{name}-{len(runs)}"
        base.mkdir()
        port = free_port()
        doc = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
               "nodeStatusUpdateFrequency": "1s", "nodeStatusReportFrequency": "1m",
               "nodeLeaseDurationSeconds": 4, "evictionMonitoringPeriod": "1s",
               "evictionPressureTransitionPeriod": "5s", "port": port,
               "authentication": {"x509": {"clientCAFile": str(cp.ca)}},
               **(config or {})}
        (base / "config.yaml").write_text(yaml.safe_dump(doc))
        argv = [*cp.prefix, sys.executable, "-m", "nodelab.kubelet",
                "--kubeconfig", str(cp.node_kubeconfig(name, base / "kubeconfig")),
                "--cri-endpoint", endpoint, "--node-name", name, "--node-ip", "127.0.0.1",
                "--state-dir", str(base / "state"), "--config", str(base / "config.yaml"),
                *extra]
        run = KubeletRun(name, port, argv, base / "kubelet.log")
        run.start()
        runs.append(run)
        return run

    try:
        yield start
    finally:
        for run in runs:
            for process in run.processes:
                process.stop()


@dataclass
class Workload:
    """nodelab's runtime able to run pods (loopback-only network), for one kubelet."""

    runtime: Runtime
    runner: PodRunner  # to look at the runtime, and to remove what is left at the end
    image: str  # busybox in the test registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt install docker-registry)")
    with local_registry(tmp_path_factory.mktemp("registry")) as found:
        yield found


@pytest.fixture(scope="module")
def workload(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workload]:
    if not _have("nodelab.runtime.__main__"):
        pytest.skip("nodelab.runtime (issue: CRI runtime) has not landed yet")
    if os.geteuid() != 0:
        pytest.skip("running pods needs root (runc, cgroups, mounts)")
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    base = tmp_path_factory.mktemp("wrt")
    conf = base / "cni"
    conf.mkdir()
    sock = base / "cri.sock"
    uid = os.urandom(2).hex()
    # nodelab's plugins are thick: their daemon serves this runtime's namespace (the host's)
    # on a socket of its own, which the runtime's plugin calls inherit
    cni_env = {SOCKET_ENV: f"nlkt{uid}-cni"}
    process = Process([sys.executable, "-m", "nodelab.runtime", "--state-dir",
                       str(base / "state"), "--socket", str(sock), "--cni-conf-dir", str(conf),
                       "--cgroup-root", f"nodelab/nlkt{uid}", "--netns-prefix", f"nlkt{uid}",
                       "--insecure-registry", registry.address, "--log-level", "WARNING"],
                      base / "runtime.log", env=cni_env)
    # claimed (nodelab/lab/claims.py): if this test run dies, the next one removes it all
    with claimed("runtime", base, prefix=f"nlkt{uid}", runtime_state=base / "state") as claim:
        runner: PodRunner | None = None
        cni = start_in_netns("/proc/self/ns/net", env=cni_env)
        try:
            claim = with_process(claim, ProcessId.of(cni.pid))
            process.start()
            claim = with_process(claim, process.id())
            runtime = Runtime(f"unix://{sock}", conf, process)
            runtime.enable_network()
            wait_for(sock.exists, 20, f"the runtime socket {sock}:\n{process.output()}")
            runner = PodRunner(runtime.endpoint, f"{registry.address}/busybox:latest",
                               base / "pods")
            runner.pull()
            yield Workload(runtime, runner, f"{registry.address}/busybox:latest")
        finally:
            if runner is not None:
                runner.remove_all()
            process.stop()
            cni.terminate()
            cni.wait(timeout=30)
            reap(claim)
