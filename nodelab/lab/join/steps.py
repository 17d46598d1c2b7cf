"""Joining an existing cluster (`nodelab join --kubeconfig K`): a lab without a control plane.

A joined lab has the same bridge, node namespaces, registry and node daemons as an embedded
lab, but its nodes register with the cluster of the given kubeconfig. Steps, in order:

1. the lab bridge and node namespaces (as `up`);
2. the lab registry with the demo images (pods on joined nodes use `<gateway>:5000/...`);
3. the API relay (`api_relay.py`): `<gateway>:6443` -> the cluster's API server, in the root
   namespace, so node namespaces reach the cluster without NAT or forwarding;
4. TLS bootstrap (`tls_bootstrap.py`): each kubelet's client certificate through the CSR API,
   and kube-proxy's and podnet's own (`BootstrapComponents`);
5. the node daemons: runtime, podnet, kubelet (serving certificate through the CSR API,
   `serverTLSBootstrap`), kube-proxy; node names `<lab>-node<i>`, label
   `nodelab.dev/lab=<lab>` and taint `nodelab.dev/lab=true:NoSchedule`;
6. approving the kubelets' serving CSRs (this lab's nodes only), then waiting for Ready.

The lab keeps a copy of the original access (`cluster.kubeconfig`: what `join` and `down` use
from the root namespace) and writes `kubeconfig`, the same access through the relay (what
`nodelab kubeconfig` prints). kube-proxy and podnet get identities of their own through the
relay (`BootstrapComponents`: `system:kube-proxy` and `nodelab:podnet`, certificates from the
cluster's CSR API), never the given admin access. What `join` checks and writes before these
steps, and what `down` deletes from the cluster (the lab's Nodes and CSRs, best effort) before
removing everything else, is `membership.py`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.controlplane.auth.identities import (
    KUBE_PROXY,
    PODNET,
    PODNET_BINDING,
    PODNET_CLUSTER_ROLE,
    ComponentIdentity,
)
from nodelab.errors import NodelabError
from nodelab.kube.rest import Rest
from nodelab.lab.context import LabContext
from nodelab.lab.daemons import DaemonSpec, tcp_ready
from nodelab.lab.join.kubeconfigs import ClusterAccess, client_certificate_user
from nodelab.lab.join.registry_proxy import PROXY_PORT
from nodelab.lab.join.tls_bootstrap import (
    approve_serving,
    client_certificate,
    component_certificate,
    serving_requests,
)
from nodelab.lab.paths import LabPaths
from nodelab.lab.registry.daemon import StartRegistry
from nodelab.lab.registry.demo_images import PushDemoImages
from nodelab.lab.topology import APISERVER_PORT, NodePlan
from nodelab.lab.up.network import CreateLabBridge, CreateNodeNamespaces
from nodelab.lab.up.node_daemons import KUBELET_PORT, JoinedNode, node_specs
from nodelab.lab.up.wait_ready import WaitNodesReady

LAB_LABEL = "nodelab.dev/lab"
LAB_TAINT = f"{LAB_LABEL}=true:NoSchedule"
SERVING_TIMEOUT = 90.0


def cluster_kubeconfig(paths: LabPaths) -> Path:
    """The lab's copy of the access it was given (root namespace: join and down use it)."""
    return paths.root / "cluster.kubeconfig"


def cluster_ca(paths: LabPaths) -> Path:
    return paths.root / "cluster-ca.crt"


def kube_node_name(lab: str, node: NodePlan) -> str:
    """A joined node's name in the cluster: the lab's name keeps it apart from the cluster's
    own nodes (and from other labs joined to it)."""
    return f"{lab}-{node.name}"


def cluster_api(kubeconfig: Path) -> Any:
    return k8s_config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]


class StartApiRelay:
    name = "API relay"

    def execute(self, ctx: LabContext) -> None:
        access = ClusterAccess.load(cluster_kubeconfig(ctx.paths))
        host, port = access.endpoint
        gateway = str(ctx.topology.gateway)
        ctx.supervisor.start(DaemonSpec(
            name="apirelay",
            argv=(sys.executable, "-m", "nodelab.lab.join.api_relay",
                  "--listen", f"{gateway}:{APISERVER_PORT}", "--target", f"{host}:{port}"),
            ready=tcp_ready(gateway, APISERVER_PORT), ready_timeout=20.0,
        ), ctx.progress)


FALLBACK_POD_NETWORK = ipaddress.IPv4Network("10.250.0.0/16")
FALLBACK_NODES = 8


def fallback_pod_cidr(subnet: ipaddress.IPv4Network, node: NodePlan) -> str:
    """A joined node's own pod range, used only if the cluster assigns it none: the lab's
    /24 of 10.250.0.0/16 (third octet as its node network's), one /27 per node (nodes 1-8)."""
    if node.index > FALLBACK_NODES:
        return ""
    third = int(subnet.network_address) >> 8 & 0xFF
    base = FALLBACK_POD_NETWORK.network_address + (third << 8) + (node.index - 1) * 32
    return str(ipaddress.IPv4Network(f"{base}/27"))


def joined_nodes(ctx: LabContext) -> dict[str, NodePlan]:
    return {kube_node_name(ctx.names.lab, node): node for node in ctx.topology.nodes}


@contextlib.contextmanager
def cluster_call(what: str, server: str) -> Iterator[None]:
    """An API error of `what` as a NodelabError that says what to do (403: not an admin
    kubeconfig), not a traceback."""
    try:
        yield
    except k8s.ApiException as exc:
        if exc.status in (401, 403):
            raise NodelabError(
                f"the cluster {server} refused to let this kubeconfig's user {what} "
                f"({exc.status} {exc.reason}): `nodelab join` needs an admin kubeconfig "
                "(cluster-admin, e.g. kind's own)") from exc
        raise NodelabError(f"the cluster {server} answered {exc.status} {exc.reason} when "
                           f"asked to {what}: {str(exc.body or '').strip()[:300]}") from exc


class BootstrapKubelets:
    name = "TLS bootstrap (kubelet client certificates)"

    def execute(self, ctx: LabContext) -> None:
        rest = Rest(cluster_api(cluster_kubeconfig(ctx.paths)))
        relayed = ClusterAccess.load(ctx.paths.kubeconfig)
        for kube_name, node in joined_nodes(ctx).items():
            ctx.progress(f"{kube_name}: client certificate through the CSR API")
            with cluster_call("create and approve CertificateSigningRequests",
                              str(ctx.description.joined)):
                cert, key = client_certificate(rest, kube_name,
                                               ctx.paths.node(node.name) / "pki")
            access = relayed.with_user(client_certificate_user(cert.read_bytes(),
                                                               key.read_bytes()))
            access.write(ctx.paths.node(node.name) / "kubelet.kubeconfig",
                         user=f"system:node:{kube_name}")


def component_kubeconfig(paths: LabPaths, identity: ComponentIdentity) -> Path:
    return paths.root / f"{identity.name}.kubeconfig"


class BootstrapComponents:
    """kube-proxy and podnet get their own identities in the joined cluster, never its admin:
    client certificates from its CSR API (signer `kubernetes.io/kube-apiserver-client`,
    `system:kube-proxy`, which upstream's bootstrap policy binds to `system:node-proxier`,
    and `nodelab:podnet`), and podnet's ClusterRole and binding created there as kind installs
    kindnet's (`controlplane/auth/identities.py`)."""

    name = "kube-proxy and podnet identities (CSR API)"

    def execute(self, ctx: LabContext) -> None:
        rest = Rest(cluster_api(cluster_kubeconfig(ctx.paths)))
        relayed = ClusterAccess.load(ctx.paths.kubeconfig)
        joined = str(ctx.description.joined)
        with cluster_call("create podnet's ClusterRole and binding", joined):
            for kind, obj in (("clusterroles", PODNET_CLUSTER_ROLE),
                              ("clusterrolebindings", PODNET_BINDING)):
                try:
                    rest.create(kind, None, obj)
                except k8s.ApiException as exc:
                    if exc.status != 409:
                        raise
                    if kind == "clusterroles":  # another lab joined before: its rules may be
                        rest.patch(kind, None, obj["metadata"]["name"],  # an older podnet's
                                   {"rules": obj["rules"]})
        for identity in (KUBE_PROXY, PODNET):
            ctx.progress(f"{identity.user}: client certificate through the CSR API")
            with cluster_call("create and approve CertificateSigningRequests", joined):
                cert, key = component_certificate(rest, ctx.names.lab, identity,
                                                  ctx.paths.root / "pki")
            relayed.with_user(client_certificate_user(cert.read_bytes(), key.read_bytes())
                              ).write(component_kubeconfig(ctx.paths, identity),
                                      user=identity.user)


def allowed_registries_file(paths: LabPaths) -> Path:
    return paths.root / "allowed-registries"


def allowed_registries(paths: LabPaths) -> list[str]:
    try:
        return [line for line in allowed_registries_file(paths).read_text().splitlines() if line]
    except FileNotFoundError:
        return []


class StartRegistryProxy:
    """Only with `--allow-registry`: the CONNECT proxy to those registries (registry_proxy.py)."""

    name = "registry proxy (allowed registries)"

    def execute(self, ctx: LabContext) -> None:
        allowed = allowed_registries(ctx.paths)
        if not allowed:
            return
        gateway = str(ctx.topology.gateway)
        ctx.supervisor.start(DaemonSpec(
            name="registryproxy",
            argv=(sys.executable, "-m", "nodelab.lab.join.registry_proxy",
                  "--listen", f"{gateway}:{PROXY_PORT}",
                  *[arg for host in allowed for arg in ("--allow", host)]),
            ready=tcp_ready(gateway, PROXY_PORT), ready_timeout=20.0,
        ), ctx.progress)


def runtime_proxy_env(ctx: LabContext) -> tuple[tuple[str, str], ...]:
    if not allowed_registries(ctx.paths):
        return ()
    proxy = f"http://{ctx.topology.gateway}:{PROXY_PORT}"
    return (("https_proxy", proxy), ("HTTPS_PROXY", proxy),
            ("no_proxy", str(ctx.topology.gateway)), ("NO_PROXY", str(ctx.topology.gateway)))


class StartJoinedNodeDaemons:
    name = "node daemons"

    def execute(self, ctx: LabContext) -> None:
        for kube_name, node in joined_nodes(ctx).items():
            joined = JoinedNode(
                kube_name=kube_name,
                kubelet_kubeconfig=ctx.paths.node(node.name) / "kubelet.kubeconfig",
                proxy_kubeconfig=component_kubeconfig(ctx.paths, KUBE_PROXY),
                podnet_kubeconfig=component_kubeconfig(ctx.paths, PODNET),
                cluster_ca=cluster_ca(ctx.paths),
                labels=f"{LAB_LABEL}={ctx.names.lab}",
                taints=LAB_TAINT,
                fallback_pod_cidr=fallback_pod_cidr(ctx.topology.subnet, node),
                runtime_env=runtime_proxy_env(ctx),
            )
            for spec in node_specs(ctx, node, joined):
                ctx.supervisor.start(spec, ctx.progress)


def former_requests_file(paths: LabPaths) -> Path:
    """The serving CSRs of this lab's node names from before its node daemons first started
    (a former lab of the same name): they prove nothing about this lab's kubelets."""
    return paths.root / "former-serving-csrs"


class SetAsideFormerServingRequests:
    """Before the node daemons first start: delete (best effort) and remember the serving
    CSRs a former lab of this name left, so that only this lab's kubelets' CSRs count."""

    name = "serving CSRs of a former lab of this name"

    def execute(self, ctx: LabContext) -> None:
        record = former_requests_file(ctx.paths)
        if record.exists():
            return  # a join again of a running lab: its CSRs are its own
        rest = Rest(cluster_api(cluster_kubeconfig(ctx.paths)))
        with cluster_call("list CertificateSigningRequests", str(ctx.description.joined)):
            former = serving_requests(rest, joined_nodes(ctx))
        for name in former:
            try:
                rest.delete("certificatesigningrequests", None, name)
                ctx.progress(f"deleted CertificateSigningRequest {name} of a former lab")
            except k8s.ApiException as exc:
                ctx.progress(f"could not delete CertificateSigningRequest {name} of a former "
                             f"lab ({exc.status} {exc.reason}); ignoring it")
        record.write_text("".join(f"{name}\n" for name in former))


class ApproveServingCertificates:
    name = "kubelet serving certificates (CSR API)"

    def __init__(self, timeout: float = SERVING_TIMEOUT) -> None:
        self.timeout = timeout

    def execute(self, ctx: LabContext) -> None:
        rest = Rest(cluster_api(cluster_kubeconfig(ctx.paths)))
        nodes = {name: str(node.ip) for name, node in joined_nodes(ctx).items()}
        try:
            former = set(former_requests_file(ctx.paths).read_text().split())
        except FileNotFoundError:
            former = set()
        deadline = time.monotonic() + self.timeout
        while True:
            with cluster_call("list and approve CertificateSigningRequests",
                              str(ctx.description.joined)):
                issued = approve_serving(rest, nodes, ctx.progress, former)
            if issued >= set(nodes):
                break
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(set(nodes) - issued))
                raise NodelabError(
                    f"no serving certificate for {missing} after {self.timeout:.0f}s: see "
                    f"`kubectl get csr` and the kubelet logs in {ctx.paths.logs}")
            time.sleep(1.0)
        for node in ctx.topology.nodes:
            ready = tcp_ready(str(node.ip), KUBELET_PORT)
            while not ready.check():
                if time.monotonic() > deadline:
                    raise NodelabError(f"the kubelet of {node.name} does not serve on "
                                       f"{node.ip}:{KUBELET_PORT}; see {ctx.paths.logs}")
                time.sleep(0.2)


class WaitJoinedNodesReady(WaitNodesReady):
    def node_names(self, ctx: LabContext) -> list[str]:
        return list(joined_nodes(ctx))


def join_steps() -> Sequence[Any]:
    return (CreateLabBridge(), CreateNodeNamespaces(), StartRegistry(), PushDemoImages(),
            StartApiRelay(), StartRegistryProxy(), BootstrapKubelets(), BootstrapComponents(),
            SetAsideFormerServingRequests(), StartJoinedNodeDaemons(),
            ApproveServingCertificates(), WaitJoinedNodesReady())
