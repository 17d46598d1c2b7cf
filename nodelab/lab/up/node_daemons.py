"""Step of `up`: each node's daemons, inside the node's network namespace.

Per node, in this order (each waits for the one before):

| daemon | command | ready when |
|---|---|---|
| `runtime` | nodelab's or containerd (CRI v1 on `nodes/<n>/runtime.sock`) | socket accepts |
| `podnet` | `python -m nodelab.podnet` (the node's CNI conflist and pod routes) | started |
| `kubelet` | `python -m nodelab.kubelet` (registers the Node, runs its pods) | port 10250 accepts |
| `proxy` | `python -m nodelab.proxy` (Service DNAT, the lab's mode) | started |

Each node daemon talks to the API server with its own identity and kubeconfig
(`controlplane/auth/identities.py`): the kubelet as `system:node:<name>`, kube-proxy as
`system:kube-proxy` (`system:node-proxier`), podnet as `nodelab:podnet` (list/watch Nodes);
none of them is the lab admin. A node of a joined lab (`JoinedNode`, see join.py) has its
cluster name, a client certificate from TLS bootstrap, a serving certificate through the CSR
API, and the lab's label and taint.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nodelab.controlplane.auth.identities import KUBE_PROXY, PODNET, ComponentIdentity
from nodelab.controlplane.auth.pki import PKI, write_kubeconfig
from nodelab.lab.addons.cluster_dns import CLUSTER_DOMAIN, DNS_SERVICE_IP
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, tcp_ready
from nodelab.lab.settings.kubelet import kubelet_config_lines
from nodelab.lab.topology import NodePlan
from nodelab.lab.up.controlplane import lab_pki
from nodelab.lab.up.runtime_daemon import cni_version, runtime_spec

KUBELET_PORT = 10250


@dataclass(frozen=True)
class JoinedNode:
    """What differs for a node of a joined lab (`nodelab join`): its name in the cluster, the
    kubeconfig with its bootstrapped client certificate, the cluster CA (trusted for client
    certificates on :10250), and the labels and taints it registers with. Its serving
    certificate comes through the CSR API (`serverTLSBootstrap`)."""

    kube_name: str
    kubelet_kubeconfig: Path
    proxy_kubeconfig: Path  # kube-proxy's own identity in the cluster
    podnet_kubeconfig: Path  # podnet's own identity in the cluster
    cluster_ca: Path
    labels: str  # k=v,...
    taints: str  # k=v:Effect,...
    fallback_pod_cidr: str = ""  # podnet's range if the cluster assigns the Node none
    runtime_env: tuple[tuple[str, str], ...] = ()  # e.g. https_proxy for allowed registries


def node_specs(ctx: LabContext, node: NodePlan,
               joined: JoinedNode | None = None) -> list[DaemonSpec]:
    paths, topology = ctx.paths, ctx.topology
    home = paths.node(node.name)
    home.mkdir(parents=True, exist_ok=True)
    kube_name = joined.kube_name if joined else node.name
    if joined is None:
        pki = lab_pki(ctx)
        credentials = pki.node_credentials(node.name)
        serving = pki.serving_credentials(f"kubelet-{node.name}", f"{node.name}@kubelet",
                                          [str(node.ip), node.name])
        kubelet_kubeconfig = write_kubeconfig(home / "kubelet.kubeconfig",
                                              topology.apiserver_url, pki.ca_cert,
                                              credentials.cert, credentials.key,
                                              credentials.user)
        kubelet_tls: tuple[str, ...] = (
            "--client-ca-file", str(pki.ca_cert), "--tls-cert-file", str(serving.cert),
            "--tls-private-key-file", str(serving.key))
        proxy_kubeconfig = _component_kubeconfig(ctx, pki, KUBE_PROXY)
        podnet_kubeconfig = _component_kubeconfig(ctx, pki, PODNET)
    else:
        kubelet_kubeconfig = joined.kubelet_kubeconfig
        kubelet_tls = ("--client-ca-file", str(joined.cluster_ca),
                       "--node-labels", joined.labels, "--register-with-taints", joined.taints)
        proxy_kubeconfig, podnet_kubeconfig = joined.proxy_kubeconfig, joined.podnet_kubeconfig
    python = sys.executable
    cni_conf = home / "cni" / "net.d"
    env = {"NODELAB_NODE": node.name}
    cgroup_root = f"/{ctx.names.cgroup()}/{node.name}"
    kubelet_config = home / "kubelet-config.yaml"
    kubelet_config.write_text(kubelet_config_text(cgroup_root, ctx.description.max_restart_backoff,
                                                  () if joined else (DNS_SERVICE_IP,))
                              + ("serverTLSBootstrap: true\n" if joined else "")
                              + kubelet_config_lines(ctx.description.kubelet_config))
    return [
        _with_env(runtime_spec(ctx, node, cni_conf, cgroup_root),
                  dict(joined.runtime_env) if joined else {}),
        DaemonSpec(
            name=f"{node.name}/podnet",
            argv=(python, "-m", "nodelab.podnet", "--kubeconfig", str(podnet_kubeconfig),
                  "--node-name", kube_name, "--cni-conf-dir", str(cni_conf),
                  "--data-dir", str(home / "cni" / "networks"),
                  "--cni-version", cni_version(ctx.description.runtime),
                  *(("--fallback-pod-cidr", joined.fallback_pod_cidr)
                    if joined and joined.fallback_pod_cidr else ())),
            netns=node.netns, env=env,
        ),
        DaemonSpec(
            name=f"{node.name}/kubelet",
            argv=(python, "-m", "nodelab.kubelet", "--kubeconfig", str(kubelet_kubeconfig),
                  "--cri-endpoint", f"unix://{paths.cri_socket(node.name)}",
                  "--node-name", kube_name, "--node-ip", str(node.ip),
                  "--state-dir", str(home / "kubelet"), "--config", str(kubelet_config),
                  *kubelet_tls),
            netns=node.netns, env=env,
            # a joined kubelet serves once its serving CSR is approved: join waits for that
            ready=None if joined else tcp_ready(str(node.ip), KUBELET_PORT),
        ),
        DaemonSpec(
            name=f"{node.name}/proxy",
            argv=(python, "-m", "nodelab.proxy", "--kubeconfig", str(proxy_kubeconfig),
                  "--node-name", kube_name, "--mode", ctx.description.proxy_mode,
                  "--metrics-file", str(home / "proxy-metrics.json")),
            netns=node.netns, env=env,
        ),
    ]


def kubelet_config_text(cgroup_root: str, max_restart_backoff: float | None,
                        cluster_dns: Sequence[str] = ()) -> str:
    """The node's `KubeletConfiguration`: its cgroupRoot, the lab's CrashLoopBackOff cap, and
    the cluster DNS Service pods resolve through (an embedded lab's `kube-dns`); the lab's
    own fragment (settings/kubelet.py) follows these lines."""
    text = ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
            f"cgroupRoot: {cgroup_root}\n")
    if cluster_dns:
        text += f"clusterDNS: [{', '.join(cluster_dns)}]\nclusterDomain: {CLUSTER_DOMAIN}\n"
    if max_restart_backoff is not None:
        text += f"crashLoopBackOff:\n  maxContainerRestartPeriod: {max_restart_backoff:g}s\n"
    return text


def component_kubeconfig_path(ctx: LabContext, identity: ComponentIdentity) -> Path:
    """Where the lab keeps the kubeconfig of one of its components (shared by its nodes)."""
    return ctx.paths.root / f"{identity.name}.kubeconfig"


def _component_kubeconfig(ctx: LabContext, pki: PKI, identity: ComponentIdentity) -> Path:
    credentials = pki.component_credentials(identity)
    return write_kubeconfig(component_kubeconfig_path(ctx, identity),
                            ctx.topology.apiserver_url, pki.ca_cert, credentials.cert,
                            credentials.key, credentials.user)


def _with_env(spec: DaemonSpec, extra: dict[str, str]) -> DaemonSpec:
    return replace(spec, env={**spec.env, **extra}) if extra else spec


class StartNodeDaemons:
    name = "node daemons"

    def execute(self, ctx: LabContext) -> None:
        for node in ctx.topology.nodes:
            for spec in node_specs(ctx, node):
                ctx.supervisor.start(spec, ctx.progress)
