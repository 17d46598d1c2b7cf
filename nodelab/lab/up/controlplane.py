"""Step of `up`: the embedded control plane (API server, scheduler, controllers) on the gateway.

It issues the lab's PKI (a CA, the API server's certificate for the gateway and loopback, an
admin identity) under `<state>/controlplane/pki`, writes the admin kubeconfig that
`nodelab kubeconfig` prints, and starts `python -m nodelab.controlplane` listening on
`<gateway>:6443`, ready when `/readyz` answers, verifying kubelets' serving certificates
against the lab CA; then the scheduler and controllers
(`python -m nodelab.controlplane.controllers`), a separate process as kube-scheduler and
kube-controller-manager are upstream, with the CA's key for the CSR signer, their own identity
(`system:kube-controller-manager`, see `controlplane/auth/identities.py`; not the admin's) and
the lab's node monitor grace period (`controllers_spec`; `Lab.set_node_monitor_grace_period`
restarts them with a new one, as a kubeadm user edits kube-controller-manager's static pod
manifest).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nodelab.controlplane.auth.identities import CONTROLLER_MANAGER
from nodelab.controlplane.auth.pki import PKI, ensure_pki, write_kubeconfig
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, http_ready
from nodelab.lab.paths import LabPaths
from nodelab.lab.topology import APISERVER_PORT


def lab_pki(ctx: LabContext) -> PKI:
    return ensure_pki(ctx.paths.root / "controlplane", [str(ctx.topology.gateway), "127.0.0.1"])


def controllers_kubeconfig(paths: LabPaths) -> Path:
    """The controllers' kubeconfig (`system:kube-controller-manager`), written by `up`."""
    return paths.root / "controller-manager.kubeconfig"


def controllers_spec(paths: LabPaths, pki: PKI, node_monitor_grace_period: float | None
                     ) -> DaemonSpec:
    """The scheduler and controllers daemon; a grace period of None is upstream's default."""
    grace = () if node_monitor_grace_period is None else (
        "--node-monitor-grace-period", f"{node_monitor_grace_period:g}")
    return DaemonSpec(
        name="controllers",
        argv=(sys.executable, "-m", "nodelab.controlplane.controllers",
              "--kubeconfig", str(controllers_kubeconfig(paths)),
              "--cluster-signing-cert-file", str(pki.ca_cert),
              "--cluster-signing-key-file", str(pki.ca_key), *grace),
    )


class StartControlPlane:
    name = "control plane"

    def execute(self, ctx: LabContext) -> None:
        pki = lab_pki(ctx)
        write_kubeconfig(ctx.paths.kubeconfig, ctx.topology.apiserver_url, pki.ca_cert,
                         pki.admin.cert, pki.admin.key, pki.admin.user)
        spec = DaemonSpec(
            name="controlplane",
            argv=(sys.executable, "-m", "nodelab.controlplane",
                  "--state-dir", str(ctx.paths.root / "controlplane"),
                  "--listen", f"{ctx.topology.gateway}:{APISERVER_PORT}",
                  "--kubelet-certificate-authority", str(pki.ca_cert)),
            ready=http_ready(f"{ctx.topology.apiserver_url}/readyz", pki.ca_cert),
            ready_timeout=60.0,
        )
        ctx.supervisor.start(spec, ctx.progress)
        controllers = pki.component_credentials(CONTROLLER_MANAGER)
        write_kubeconfig(controllers_kubeconfig(ctx.paths), ctx.topology.apiserver_url,
                         pki.ca_cert, controllers.cert, controllers.key, controllers.user)
        ctx.supervisor.start(controllers_spec(ctx.paths, pki,
                                              ctx.description.node_monitor_grace_period),
                             ctx.progress)
