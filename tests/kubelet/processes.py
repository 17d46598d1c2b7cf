"""Processes and waits for the kubelet tests: real components started and ended by PID."""


from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nodelab.host.processes import ProcessId

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # the thing is not up yet
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Process:
    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of this process's environment

    def start(self) -> Process:
        # A TMPDIR beside the log: a process killed with SIGKILL cannot remove the Kubernetes
        # client's temp copies of its kubeconfig's certificates and keys; here they go with
        # the test's own directory instead of staying in /tmp.
        tmpdir = self.log.parent / "tmp"
        tmpdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=handle, stderr=subprocess.STDOUT,
                                     cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                    "TMPDIR": str(tmpdir), **self.env})
        handle.close()
        return self

    def id(self) -> ProcessId | None:
        """This very process (PID and start time), once started."""
        return ProcessId.of(self.proc.pid) if self.proc is not None else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class ControlPlane:
    state_dir: Path
    url: str
    process: Process
    admin_kubeconfig: Path
    ca: Path
    ca_key: Path
    netns: str | None = None

    @property
    def prefix(self) -> list[str]:
        """How to run a command where this API server's 127.0.0.1 is."""
        return ["nsenter", f"--net=/run/netns/{self.netns}"] if self.netns else []

    def node_kubeconfig(self, node: str, path: Path) -> Path:
        from nodelab.controlplane.auth.pki import ensure_pki, kubeconfig_document

        pki = ensure_pki(self.state_dir, [])
        creds = pki.node_credentials(node)
        doc = kubeconfig_document(self.url, pki.ca_cert, creds.cert, creds.key, creds.user)
        path.write_text(yaml.safe_dump(doc))
        return path

    def admin_client(self) -> Any:
        from kubernetes import config as k8s_config

        loader: Any = k8s_config.new_client_from_config
        return loader(config_file=str(self.admin_kubeconfig))

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60) -> (
            subprocess.CompletedProcess[str]):
        return subprocess.run(
            [*self.prefix, str(ROOT / ".venv/bin/kubectl"), "--kubeconfig",
             str(self.admin_kubeconfig), *args],
            capture_output=True, text=True, input=input, timeout=timeout)


@dataclass
class Runtime:
    endpoint: str
    cni_conf_dir: Path
    process: Process

    def enable_network(self) -> None:
        """Write a conflist, so the runtime reports NetworkReady=true (nothing is applied)."""
        conf = {"cniVersion": "1.0.0", "name": "nlkt", "plugins": [{"type": "loopback"}]}
        (self.cni_conf_dir / "10-nlkt.conflist").write_text(json.dumps(conf))


@dataclass
class KubeletRun:
    name: str
    port: int
    argv: list[str]
    log: Path
    processes: list[Process] = field(default_factory=list)

    def start(self) -> Process:
        process = Process(self.argv, self.log).start()
        self.processes.append(process)
        return process

    @property
    def current(self) -> Process:
        return self.processes[-1]


KubeletFactory = Callable[..., KubeletRun]




@contextlib.contextmanager
def running_controlplane(state: Path, netns: str | None = None) -> Iterator[ControlPlane]:
    """`python -m nodelab.controlplane` on 127.0.0.1 (of `netns`, if given), until exit."""
    from nodelab.controlplane.auth.pki import ensure_pki, kubeconfig_document

    port = free_port()
    url = f"https://127.0.0.1:{port}"
    prefix = ["nsenter", f"--net=/run/netns/{netns}"] if netns else []
    process = Process([*prefix, sys.executable, "-m", "nodelab.controlplane", "--state-dir",
                       str(state), "--listen", f"127.0.0.1:{port}"],
                      state / "controlplane.log").start()
    try:
        wait_for(lambda: "listening" in process.output(), 30,
                 f"the API server to listen:\n{process.output()}")
        pki = ensure_pki(state, ["127.0.0.1"])
        admin = state / "admin.kubeconfig"
        admin.write_text(yaml.safe_dump(kubeconfig_document(
            url, pki.ca_cert, pki.admin.cert, pki.admin.key, pki.admin.user)))
        cp = ControlPlane(state, url, process, admin, pki.ca_cert, pki.ca_key, netns)
        wait_for(lambda: cp.kubectl("get", "--raw", "/readyz").returncode == 0, 30,
                 f"the API server at {url}:\n{process.output()}")
        yield cp
    finally:
        process.stop()
