"""A real API server process for tests: started on a free loopback port, stopped by PID.

`RunningApiServer` wraps one `python -m nodelab.controlplane` process with its own state dir,
admin kubeconfig, a `kubectl(...)` runner for the real kubectl binary, and `client()` for the
official Python client. `restart()` stops it (SIGTERM, by PID) and starts it again on the same
port and state, which is how tests check that nothing is lost.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.controlplane import ensure_pki, write_kubeconfig
from nodelab.controlplane.auth.pki import PKI
from nodelab.controlplane.controllers.loop import Controller, ControllerLoop
from nodelab.kube.restclient import client_for

REPO = Path(__file__).resolve().parents[2]
KUBECTL = REPO / ".venv" / "bin" / "kubectl"


@contextmanager
def running_controllers(apiserver: RunningApiServer,
                        controllers: list[Controller]) -> Iterator[ControllerLoop]:
    """`controllers` in one loop against `apiserver` (a resync every 0.5 s), synced before the
    block runs, stopped however it ends."""
    loop = ControllerLoop(client_for(apiserver.kubeconfig), controllers, resync=0.5).start()
    try:
        assert loop.wait_synced(20), "the controllers' caches did not sync within 20 s"
        yield loop
    finally:
        loop.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningApiServer:
    state_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    pki: PKI | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def start(self) -> None:
        """Start and wait until ready. The port was free when picked, but another process
        (another test run on the machine) may take it first: then the answer comes from a
        server of another CA and ours exits; a first start tries again on a new port."""
        failure = ""
        for _ in range(3):
            try:
                self._start_once()
            except RuntimeError as exc:  # ours exited (its port taken) or never got ready
                failure = str(exc)
            else:
                if self._answered_by_ours():
                    break
                failure = f"port {self.port} answers with another server's certificate"
            self.stop()
            if self.pki is not None:  # a restart keeps its port: clients know it
                raise RuntimeError(failure)
            self.port = free_port()
        else:
            raise RuntimeError(f"the API server did not start on 3 ports; last: {failure}")
        self.pki = ensure_pki(self.state_dir, ["127.0.0.1"])
        write_kubeconfig(self.kubeconfig, self.url, self.pki.ca_cert, self.pki.admin.cert,
                         self.pki.admin.key, "admin")

    def _answered_by_ours(self) -> bool:
        """Whether our process runs and /readyz is served with our own CA's certificate
        (which our process writes before it listens)."""
        ca = self.state_dir / "pki" / "ca.crt"
        deadline = time.monotonic() + 30
        while not ca.exists():
            if self.process is None or self.process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        context = ssl.create_default_context(cafile=str(ca))
        context.check_hostname = False
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", context=context,
                                        timeout=5) as answer:
                alive = self.process is not None and self.process.poll() is None
                return bool(answer.status == 200) and alive
        except OSError:
            return False

    def _start_once(self) -> None:
        log = open(self.state_dir / "controlplane.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nodelab.controlplane", "--state-dir", str(self.state_dir),
             "--listen", f"127.0.0.1:{self.port}", *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        log.close()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"API server exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=context,
                                            timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"API server not ready: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        path = self.state_dir / "controlplane.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(KUBECTL), "--kubeconfig", str(kubeconfig or self.kubeconfig),
             f"--cache-dir={self.state_dir / 'kubectl-cache'}", *args],
            input=input, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def client(self, kubeconfig: Path | None = None) -> k8s.ApiClient:
        api: k8s.ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            str(kubeconfig or self.kubeconfig))
        return api

    def node_kubeconfig(self, node: str) -> Path:
        assert self.pki is not None
        creds = self.pki.node_credentials(node)
        return write_kubeconfig(self.state_dir / f"{node}.kubeconfig", self.url,
                                self.pki.ca_cert, creds.cert, creds.key, creds.user)


@contextmanager
def running_apiserver(*extra_args: str) -> Iterator[RunningApiServer]:
    """An API server process on a fresh state directory, stopped (by PID) and removed after,
    also when it fails to become ready."""
    with tempfile.TemporaryDirectory(prefix="nlcp-") as state:
        server = RunningApiServer(Path(state), extra_args=extra_args)
        try:
            server.start()
            yield server
        finally:
            server.stop()
