"""Each lab component's own identity against the real API server: its job works, nothing more.

kube-proxy (`system:kube-proxy`, bound to `system:node-proxier` by upstream's bootstrap
policy), podnet (`nodelab:podnet`, kindnet's role) and the API server's kubelet client
(`kube-apiserver-kubelet-client`, kubeadm's binding to `system:kubelet-api-admin`) each get a
client certificate from the lab CA, as the lab issues them (`PKI.component_credentials`).
Each makes the very calls its component makes (the same clients and list functions, the same
event) and
then tries what its job does not need: create pods, read secrets, write Nodes, ...; every one
of those is a 403 from the real server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from nodelab.controlplane import write_kubeconfig
from nodelab.controlplane.auth.identities import (
    CONTROLLER_MANAGER,
    KUBE_PROXY,
    KUBELET_CLIENT,
    PODNET,
    PODNET_ROLE,
    ComponentIdentity,
)
from nodelab.kube.events import event_for
from nodelab.kube.listers import lister
from nodelab.kube.resources import path as resource_path
from nodelab.kube.restclient import RestClient
from nodelab.podnet.policies import NOT_ENFORCED, PolicyEnforcer

from ..controlplane.apiserver import RunningApiServer
from .victim import FIGURE


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApiServer]:
    server = RunningApiServer(tmp_path_factory.mktemp("cp"))
    server.start()
    try:
        admin = k8s.CoreV1Api(server.client())
        admin.create_namespaced_secret("default", {"metadata": {"name": "s"}})
        admin.create_node({"metadata": {"name": "nl-n"}})
        yield server
    finally:
        server.stop()


def kubeconfig_of(server: RunningApiServer, identity: ComponentIdentity) -> Path:
    assert server.pki is not None
    creds = server.pki.component_credentials(identity)
    return write_kubeconfig(server.state_dir / f"{identity.name}.kubeconfig", server.url,
                            server.pki.ca_cert, creds.cert, creds.key, creds.user)


def client_as(server: RunningApiServer, identity: ComponentIdentity) -> k8s.ApiClient:
    return server.client(kubeconfig_of(server, identity))


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


Attempt = Callable[[k8s.ApiClient], Any]

BEYOND: dict[str, list[tuple[str, Attempt]]] = {
    KUBE_PROXY.name: [
        ("create a pod", lambda c: k8s.CoreV1Api(c).create_namespaced_pod("default", pod("p"))),
        ("read a secret", lambda c: k8s.CoreV1Api(c).read_namespaced_secret("s", "default")),
        ("list secrets", lambda c: k8s.CoreV1Api(c).list_secret_for_all_namespaces()),
        ("delete a service", lambda c: k8s.CoreV1Api(c).delete_namespaced_service(
            "kubernetes", "default")),
        ("write an EndpointSlice", lambda c: k8s.DiscoveryV1Api(c).create_namespaced_endpoint_slice(
            "default", {"metadata": {"name": "x"}, "addressType": "IPv4", "endpoints": []})),
        ("patch a node", lambda c: k8s.CoreV1Api(c).patch_node(
            "nl-n", {"metadata": {"labels": {"x": "y"}}})),
        ("list pods", lambda c: k8s.CoreV1Api(c).list_pod_for_all_namespaces()),
    ],
    PODNET.name: [
        ("create a pod", lambda c: k8s.CoreV1Api(c).create_namespaced_pod("default", pod("p"))),
        ("read a secret", lambda c: k8s.CoreV1Api(c).read_namespaced_secret("s", "default")),
        ("patch a node", lambda c: k8s.CoreV1Api(c).patch_node(
            "nl-n", {"metadata": {"labels": {"x": "y"}}})),
        ("delete a node", lambda c: k8s.CoreV1Api(c).delete_node("nl-n")),
        ("list services", lambda c: k8s.CoreV1Api(c).list_service_for_all_namespaces()),
        ("delete a network policy", lambda c: k8s.NetworkingV1Api(
            c).delete_namespaced_network_policy("np", "default")),
    ],
    KUBELET_CLIENT.name: [
        ("create a pod", lambda c: k8s.CoreV1Api(c).create_namespaced_pod("default", pod("p"))),
        ("read a secret", lambda c: k8s.CoreV1Api(c).read_namespaced_secret("s", "default")),
        ("delete a node", lambda c: k8s.CoreV1Api(c).delete_node("nl-n")),
    ],
}


def test_kube_proxy_lists_and_watches_what_it_proxies_and_records_events(
        apiserver: RunningApiServer) -> None:
    """Through the client kube-proxy itself uses (nodelab.kube.restclient)."""
    api = RestClient.from_kubeconfig(kubeconfig_of(apiserver, KUBE_PROXY))
    for kind in ("services", "endpointslices", "nodes"):
        listed = json.loads(api.lister(kind)(_preload_content=False).data)
        assert listed["kind"].endswith("List")
        watch = api.lister(kind)(watch=True, timeout_seconds=1)
        assert watch.status == 200  # a watch is allowed (it opened)
        watch.release_conn()
    service = apiserver.kubectl_json("get", "service", "kubernetes", "-n", "default")
    event = event_for(service, "Service", "InvalidService", "test", component="kube-proxy",
                      event_type="Warning", host="nl-n", api_version="v1")
    api.request("POST", resource_path("events", "default"), event)


def test_podnet_lists_and_watches_what_it_enforces_policies_from(
        apiserver: RunningApiServer) -> None:
    """Nodes (pod ranges), and pods, namespaces and network policies (kindnet's role); and
    it records its Warning on its Node."""
    api = client_as(apiserver, PODNET)
    assert [n.metadata.name for n in lister(api, "nodes")(watch=False).items] == ["nl-n"]
    for kind in ("nodes", "pods", "namespaces", "networkpolicies"):
        lister(api, kind)(watch=False)
        for _ in lister(api, kind)(watch=True, _preload_content=False,
                                   timeout_seconds=1).stream():
            break
    rest = RestClient.from_kubeconfig(kubeconfig_of(apiserver, PODNET))
    PolicyEnforcer(rest, "nl-n").report(f"{NOT_ENFORCED}: test")  # its Warning on its Node
    described = apiserver.kubectl("describe", "node", "nl-n").stdout
    assert "Warning  NetworkPolicyNotEnforced" in described, described


def test_the_controllers_identity_is_not_an_admin(apiserver: RunningApiServer) -> None:
    api = client_as(apiserver, CONTROLLER_MANAGER)
    k8s.CoreV1Api(api).list_pod_for_all_namespaces()  # its job: every controller lists
    with pytest.raises(k8s.ApiException) as refused:
        k8s.RbacAuthorizationV1Api(api).create_cluster_role_binding({
            "metadata": {"name": "escalate"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": "cluster-admin"},
            "subjects": [{"kind": "User", "name": "x"}]})
    assert refused.value.status == 403
    # it may write RBAC objects (the namespace controller deletes them), but not grant more
    # than it holds (upstream's escalation check)
    assert "is attempting to grant RBAC permissions not currently held" in refused.value.body


@pytest.mark.parametrize("identity", sorted(BEYOND))
def test_nothing_beyond_the_job(apiserver: RunningApiServer, identity: str) -> None:
    component = next(i for i in (KUBE_PROXY, PODNET, KUBELET_CLIENT) if i.name == identity)
    api = client_as(apiserver, component)
    allowed = []
    for what, attempt in BEYOND[identity]:
        try:
            attempt(api)
            allowed.append(what)
        except k8s.ApiException as exc:
            if exc.status != 403:
                allowed.append(f"{what}: {exc.status}, not 403")
        FIGURE.record(f"a component's credentials ({identity})", [])
    assert allowed == [], f"{component.user} was allowed: {allowed}"


def test_podnets_role_is_brought_up_to_date_when_the_api_server_starts(
        tmp_path: Path) -> None:
    """A lab made before podnet read policies has the Nodes-only role stored: the API server
    rewrites its rules at start, as an installer upgrading kindnet would."""
    (tmp_path / "cp").mkdir()
    server = RunningApiServer(tmp_path / "cp")
    server.start()
    try:
        server.kubectl("patch", "clusterrole", PODNET_ROLE, "--type=merge", "-p", json.dumps(
            {"rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}]}))
        server.restart()
        rules = server.kubectl_json("get", "clusterrole", PODNET_ROLE)["rules"]
        assert [r["resources"] for r in rules] == [["nodes", "pods", "namespaces"],
                                                   ["networkpolicies"], ["events"]]
    finally:
        server.stop()
