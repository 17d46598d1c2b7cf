"""A joined lab's membership in its cluster: what `join` checks and writes before its steps
(`prepare_join`: the request, the cluster's reachability, the lab's description and
kubeconfigs) and what `down` takes back from the cluster after the node daemons stopped
(`forget_nodes`: the lab's Node objects and CertificateSigningRequests). The steps between
are `steps.py`.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

from kubernetes import client as k8s

from nodelab.errors import NodelabError
from nodelab.host import netlink
from nodelab.host.private_files import private_dir
from nodelab.kube.rest import Rest
from nodelab.lab.context import Progress
from nodelab.lab.description import LabDescription
from nodelab.lab.join.kubeconfigs import ClusterAccess
from nodelab.lab.join.registry_proxy import allowed_endpoints
from nodelab.lab.join.steps import (
    allowed_registries,
    allowed_registries_file,
    cluster_api,
    cluster_ca,
    cluster_kubeconfig,
    kube_node_name,
)
from nodelab.lab.join.tls_bootstrap import component_requests, lab_requests
from nodelab.lab.names import LabNames
from nodelab.lab.paths import LabPaths
from nodelab.lab.preconditions import check_node_count, check_privileges
from nodelab.lab.topology import APISERVER_PORT, choose_subnet


def check_reachable(access: ClusterAccess, timeout: float = 5.0) -> None:
    """Fail clearly, before anything is created, when the API server does not answer."""
    host, port = access.endpoint
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise NodelabError(
            f"cannot reach the API server {access.server} from this machine ({exc}): is the "
            "cluster running, and is this its kubeconfig?") from exc


def prepare_join(kubeconfig: Path, name: str, nodes: int, paths: LabPaths,
                 existing: LabDescription | None,
                 allow_registries: Sequence[str] = ()) -> LabDescription:
    """Check the request and write the lab's description and kubeconfigs (under its lock)."""
    LabNames(name)
    try:
        allowed_endpoints(allow_registries)
    except ValueError as exc:
        raise NodelabError(str(exc)) from exc
    if existing is not None and allowed_registries(paths) != list(allow_registries):
        raise NodelabError(f"lab {name} joined with allowed registries "
                           f"{allowed_registries(paths) or 'none'}, not "
                           f"{list(allow_registries) or 'none'}: take it down first "
                           f"(`nodelab down --name {name}`)")
    check_node_count(nodes)
    access = ClusterAccess.load(Path(kubeconfig))
    access.ca_pem  # noqa: B018 - fails clearly when the kubeconfig has no CA
    if existing is not None and not existing.joined:
        raise NodelabError(f"lab {name} is an embedded lab (`nodelab up`), not a joined one: "
                           f"take it down first (`nodelab down --name {name}`) or pick "
                           "another name")
    if existing is not None and (existing.joined, existing.nodes) != (access.server, nodes):
        raise NodelabError(f"lab {name} joined {existing.joined} with {existing.nodes} node(s),"
                           f" not {access.server} with {nodes}: take it down first "
                           f"(`nodelab down --name {name}`)")
    check_reachable(access)
    check_privileges(f"join lab {name}")
    description = existing or LabDescription(name, choose_subnet(name, netlink.host_routes()),
                                             nodes, joined=access.server)
    private_dir(paths.root)  # keys, kubeconfigs and the API store live here
    access.write(cluster_kubeconfig(paths))
    cluster_ca(paths).write_bytes(access.ca_pem)
    allowed_registries_file(paths).write_text("".join(f"{h}\n" for h in allow_registries))
    gateway = str(description.topology.gateway)
    access.relayed(gateway, APISERVER_PORT).write(paths.kubeconfig)
    description.save(paths.description)
    return description


def forget_nodes(name: str, paths: LabPaths, progress: Progress) -> None:
    """Delete a joined lab's Node objects and CertificateSigningRequests from its cluster
    (best effort, says what failed). Stop the node daemons first: a running kubelet would
    register its Node again."""
    description = LabDescription.load(paths.description)
    kubeconfig = cluster_kubeconfig(paths)
    if description is None or not description.joined or not kubeconfig.exists():
        return
    try:
        core = k8s.CoreV1Api(cluster_api(kubeconfig))
    except Exception as exc:  # noqa: BLE001 - best effort: say it and go on
        progress(f"cannot read {kubeconfig} to remove this lab's nodes: {exc}")
        return
    reachable = True
    for node in description.topology.nodes:
        kube_name = kube_node_name(name, node)
        try:
            core.delete_node(kube_name, _request_timeout=5)
            progress(f"removed Node {kube_name} from {description.joined}")
        except k8s.ApiException as exc:
            if exc.status != 404:
                progress(f"could not remove Node {kube_name} from {description.joined} "
                         f"({exc.status} {exc.reason}): `kubectl delete node {kube_name}`")
        except Exception as exc:  # noqa: BLE001 - an unreachable cluster must not stop down
            reachable = False
            progress(f"could not reach {description.joined} to remove Node {kube_name} "
                     f"({type(exc).__name__}): remove it yourself with "
                     f"`kubectl delete node {kube_name}` when the cluster is back")
    if reachable:
        forget_requests(name, description, kubeconfig, progress)


def forget_requests(name: str, description: LabDescription, kubeconfig: Path,
                    progress: Progress) -> None:
    """Delete the lab's CSRs (its kubelets' serving CSRs, the client CSRs `join` sent for its
    kubelets, kube-proxy and podnet),
    which upstream's csrcleaner would remove only after an hour or more."""
    nodes = [kube_node_name(name, node) for node in description.topology.nodes]
    try:
        rest = Rest(cluster_api(kubeconfig))
        for csr in [*lab_requests(rest, nodes), *component_requests(rest, name)]:
            rest.delete("certificatesigningrequests", None, csr)
            progress(f"removed CertificateSigningRequest {csr} from {description.joined}")
    except Exception as exc:  # noqa: BLE001 - an unreachable cluster must not stop down
        progress(f"could not remove this lab's CertificateSigningRequests from "
                 f"{description.joined} ({type(exc).__name__}): `kubectl get csr` lists them")
