"""The unprivileged lab mode: a control plane on loopback, for hosts without privileges.

Without root there is no lab: no namespaces, no runtime, no kube-proxy. The API server,
scheduler and controllers need none of that, so a notebook in plan-only mode (Binder, an
ordinary user) still runs them for real: `LoopbackControlPlane.start()` runs nodelab's API server
in the caller's own process on `127.0.0.1` (a free port), with the scheduler and controllers
beside it, and writes an admin kubeconfig. The learner then registers the planned Node with
real `kubectl`, and sees the scheduler bind pods to it (which stay Pending: no kubelet runs
them).

From a terminal (Binder's, say): `python -m nodelab.lab.loopback` starts one, prints its
kubeconfig for `kubectl --kubeconfig`, and serves until interrupted.

This is wiring only: the server is `nodelab.controlplane.apiserver.ApiServer`, the PKI and
kubeconfig its own. `stop()` stops it and removes its state directory. The course re-exports it
as `nodelab.course.LoopbackControlPlane`.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nodelab.controlplane.apiserver import ApiServer
from nodelab.controlplane.auth.pki import write_kubeconfig


@dataclass
class LoopbackControlPlane:
    server: ApiServer
    state_dir: Path
    kubeconfig: Path

    @classmethod
    def start(cls, controllers: bool = True) -> LoopbackControlPlane:
        """Start an API server on 127.0.0.1 (and the scheduler and controllers)."""
        state_dir = Path(tempfile.mkdtemp(prefix="nodelab-loopback-"))
        server = ApiServer(state_dir / "controlplane", "127.0.0.1", 0)
        server.start()
        if controllers:
            server.start_controllers()
        admin = server.pki.admin
        kubeconfig = write_kubeconfig(state_dir / "kubeconfig", server.url, server.pki.ca_cert,
                                      admin.cert, admin.key, admin.user)
        return cls(server, state_dir, kubeconfig)

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def main() -> None:
    """Serve a loopback control plane until interrupted (Ctrl-C), then remove it."""
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # before the server's threads start
    control_plane = LoopbackControlPlane.start()
    print(f"API server, scheduler and controllers on {control_plane.url}", flush=True)
    print(f"kubectl --kubeconfig {control_plane.kubeconfig} get nodes", flush=True)
    try:
        signal.sigwait(stop_signals)
    finally:
        control_plane.stop()


if __name__ == "__main__":
    main()
