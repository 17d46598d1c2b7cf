"""Authentication (client certs, bearer tokens, no anonymous) and NodeRestriction."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.watchclient import request


def _raw(server: RunningApiServer, path: str, token: str = "") -> tuple[int, Any]:
    assert server.pki is not None
    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context,
                                             timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, body.decode()


def test_anonymous_is_refused_but_health_is_public(apiserver: RunningApiServer) -> None:
    code, body = _raw(apiserver, "/api/v1/pods")
    assert code == 401 and body["reason"] == "Unauthorized"
    assert _raw(apiserver, "/readyz") == (200, "ok")
    assert _raw(apiserver, "/livez")[0] == 200
    assert _raw(apiserver, "/version")[1]["gitVersion"].startswith("v1.37")


def test_bad_token_is_refused(apiserver: RunningApiServer) -> None:
    assert _raw(apiserver, "/api/v1/pods", token="not-a-token")[0] == 401


def test_admin_bearer_token(apiserver: RunningApiServer) -> None:
    token = (apiserver.state_dir / "pki" / "admin.token").read_text().strip()
    code, body = _raw(apiserver, "/api/v1/namespaces", token=token)
    assert code == 200 and body["kind"] == "NamespaceList"


def test_service_account_token(apiserver: RunningApiServer, core: k8s.CoreV1Api) -> None:
    request = core.create_namespaced_service_account_token("default", "default", {
        "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"],
                 "expirationSeconds": 3600}})
    token = request.status.token
    assert token.count(".") == 2
    assert _raw(apiserver, "/api/v1", token=token)[0] == 200  # system:discovery
    code, body = _raw(apiserver, "/api/v1/namespaces/default/configmaps", token=token)
    assert code == 403 and body["reason"] == "Forbidden", "authenticated; RBAC grants nothing"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _raw(apiserver, "/api/v1/namespaces", token=tampered)[0] == 401


def test_a_token_for_another_audience_is_refused(apiserver: RunningApiServer,
                                                core: k8s.CoreV1Api) -> None:
    request = core.create_namespaced_service_account_token("default", "default", {
        "spec": {"audiences": ["vault"], "expirationSeconds": 3600}})
    assert _raw(apiserver, "/api/v1/namespaces", token=request.status.token)[0] == 401


def test_token_review_says_who_a_token_names_for_which_audience(
        apiserver: RunningApiServer, core: k8s.CoreV1Api) -> None:
    """What a kubelet in webhook authentication mode asks (authentication.k8s.io/v1)."""
    api = k8s.AuthenticationV1Api(apiserver.client())
    token = core.create_namespaced_service_account_token("default", "default", {
        "spec": {"audiences": ["vault"], "expirationSeconds": 3600}}).status.token

    def review(token: str, audiences: list[str] | None = None) -> Any:
        return api.create_token_review({"spec": {"token": token,
                                                 "audiences": audiences}}).status

    status = review(token, ["vault", "other"])
    assert status.authenticated is True and status.audiences == ["vault"]
    assert status.user.username == "system:serviceaccount:default:default"
    assert status.user.groups == ["system:serviceaccounts", "system:serviceaccounts:default",
                                  "system:authenticated"]
    assert status.user.uid == core.read_namespaced_service_account("default",
                                                                   "default").metadata.uid
    assert review(token).authenticated is False  # not for the API server's own audience
    assert review("not-a-token").authenticated is False
    code, answer = request(apiserver, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                            "spec": {}})
    assert (code, answer["message"]) == (400, "token is required for TokenReview in "
                                               "authentication")


def test_the_static_admin_token_is_for_the_api_server_only(apiserver: RunningApiServer) -> None:
    """A static token knows no audience: valid for the API server's own, not for another
    (upstream's WrapAudienceAgnosticToken)."""
    api = k8s.AuthenticationV1Api(apiserver.client())
    token = (apiserver.pki.directory / "admin.token").read_text().strip()
    own = api.create_token_review({"spec": {"token": token}}).status
    assert own.authenticated is True and own.user.username == "admin"
    other = api.create_token_review({"spec": {"token": token, "audiences": ["vault"]}}).status
    assert other.authenticated is False


def test_kubectl_create_token(apiserver: RunningApiServer) -> None:
    token = apiserver.kubectl("create", "token", "default", "--duration=15m").stdout.strip()
    assert _raw(apiserver, "/api/v1", token=token)[0] == 200


def _node(server: RunningApiServer, name: str) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(server.client(server.node_kubeconfig(name)))


def _node_body(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"capacity": {"cpu": "2", "memory": "2Gi", "pods": "110"},
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}


def test_node_restriction(apiserver: RunningApiServer, core: k8s.CoreV1Api) -> None:
    one, two = _node(apiserver, "nl-node1"), _node(apiserver, "nl-node2")
    node = one.create_node(_node_body("nl-node1"))
    assert node.status.allocatable["cpu"] == "2"
    two.create_node(_node_body("nl-node2"))
    with pytest.raises(ApiException) as caught:
        one.patch_node("nl-node2", {"metadata": {"labels": {"x": "y"}}})
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["message"] == (  # NodeRestriction's, as admission
        'nodes "nl-node2" is forbidden: node "nl-node1" is not allowed to modify node "nl-node2"')
    one.patch_node_status("nl-node1", {"status": {"conditions": [
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}]}})
    assert [n.metadata.name for n in one.list_node(
        field_selector="metadata.name=nl-node1").items] == ["nl-node1"]
    with pytest.raises(ApiException) as caught:
        one.list_node()
    assert json.loads(caught.value.body)["message"] == (
        'nodes is forbidden: User "system:node:nl-node1" cannot list resource "nodes" in API '
        "group \"\" at the cluster scope: node 'nl-node1' cannot read all nodes, only its own "
        "Node object")
    with pytest.raises(ApiException) as caught:
        one.read_node("nl-node2")
    assert caught.value.status == 403
    coord = k8s.CoordinationV1Api(apiserver.client(apiserver.node_kubeconfig("nl-node1")))
    coord.create_namespaced_lease("kube-node-lease", {
        "metadata": {"name": "nl-node1"},
        "spec": {"holderIdentity": "nl-node1", "leaseDurationSeconds": 40}})
    with pytest.raises(ApiException) as caught:
        coord.create_namespaced_lease("kube-node-lease", {"metadata": {"name": "nl-node2"}})
    assert caught.value.status == 403
    core.create_namespaced_pod("default", {
        "metadata": {"name": "on-two"},
        "spec": {"nodeName": "nl-node2", "containers": [{"name": "c", "image": "busybox"}]}})
    with pytest.raises(ApiException) as caught:
        one.patch_namespaced_pod_status("on-two", "default", {"status": {"phase": "Running"}})
    assert caught.value.status == 403
    two.patch_namespaced_pod_status("on-two", "default", {"status": {"phase": "Running"}})
    with pytest.raises(ApiException) as caught:
        one.create_namespaced_config_map("default", {"metadata": {"name": "nope"}})
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["message"] == (  # the Node authorizer's reason
        'configmaps is forbidden: User "system:node:nl-node1" cannot create resource '
        '"configmaps" in API group "" in the namespace "default": can only read resources of '
        "this type")
    assert two.read_namespaced_pod("on-two", "default").status.phase == "Running"
    assert [p.metadata.name for p in two.list_pod_for_all_namespaces(
        field_selector="spec.nodeName=nl-node2").items] == ["on-two"]
    for forbidden_read in (lambda: one.read_namespaced_pod("on-two", "default"),
                           lambda: one.list_pod_for_all_namespaces(),
                           lambda: one.list_pod_for_all_namespaces(
                               field_selector="spec.nodeName=nl-node2")):
        with pytest.raises(ApiException) as caught:
            forbidden_read()
        assert caught.value.status == 403
    with pytest.raises(ApiException) as caught:
        one.list_pod_for_all_namespaces()
    assert json.loads(caught.value.body)["message"].endswith(
        "can only list/watch pods with spec.nodeName field selector")
    apps = k8s.AppsV1Api(apiserver.client(apiserver.node_kubeconfig("nl-node1")))
    with pytest.raises(ApiException) as caught:
        apps.list_namespaced_deployment("default")
    assert caught.value.status == 403
    assert one.list_service_for_all_namespaces().items  # the kubelet's env vars need them
    table = apiserver.kubectl("get", "nodes").stdout
    assert "nl-node1" in table and "Ready" in table


def test_a_node_keeps_its_taints_and_restricted_labels(apiserver: RunningApiServer) -> None:
    """NodeRestriction on the node's own Node as the write leaves it: labels a kubelet may
    not set (node-restriction.kubernetes.io/, most kubernetes.io/ and k8s.io/ ones) and its
    taints after registration."""
    node = _node(apiserver, "nl-node3")
    with pytest.raises(ApiException) as caught:
        node.create_node({**_node_body("nl-node3"), "metadata": {
            "name": "nl-node3", "labels": {"node-role.kubernetes.io/worker": ""}}})
    assert json.loads(caught.value.body)["message"] == (
        'nodes "nl-node3" is forbidden: node "nl-node3" is not allowed to set the following '
        "labels: node-role.kubernetes.io/worker")
    node.create_node({**_node_body("nl-node3"), "spec": {"taints": [
        {"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}})
    node.patch_node("nl-node3", {"metadata": {"labels": {"team": "blue",
                                                         "node.kubernetes.io/pool": "a"}}})
    for patch, why in (
            ({"metadata": {"labels": {"node-restriction.kubernetes.io/secure": "true"}}},
             "is not allowed to modify labels: node-restriction.kubernetes.io/secure"),
            ({"spec": {"taints": None}}, 'node "nl-node3" is not allowed to modify taints')):
        with pytest.raises(ApiException) as caught:
            node.patch_node("nl-node3", patch)
        assert (caught.value.status, json.loads(caught.value.body)["message"]) == (
            403, f'nodes "nl-node3" is forbidden: {why}')
    stored = k8s.CoreV1Api(apiserver.client()).read_node("nl-node3")
    assert stored.metadata.labels.get("team") == "blue" and len(stored.spec.taints) == 1


def test_a_node_watches_only_the_single_objects_its_pods_use(
        apiserver: RunningApiServer, core: k8s.CoreV1Api) -> None:
    """Upstream's Node authorizer reads a list or watch whose fieldSelector names one object
    (`metadata.name=x`) as a request for that object: the kubelet's configMap and secret
    managers watch each one their pods use; nothing wider."""
    node = _node(apiserver, "nl-node1")
    for name in ("used-cm", "unused-cm"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name},
                                                      "data": {"k": name}})
    core.create_namespaced_pod("default", {
        "metadata": {"name": "uses-cm"},
        "spec": {"nodeName": "nl-node1", "containers": [{"name": "c", "image": "busybox"}],
                 "volumes": [{"name": "v", "configMap": {"name": "used-cm"}}]}})
    listed = node.list_namespaced_config_map("default", field_selector="metadata.name=used-cm")
    assert [c.metadata.name for c in listed.items] == ["used-cm"]
    watched: Any = node.list_namespaced_config_map(
        "default", field_selector="metadata.name==used-cm", watch=True, timeout_seconds=1,
        _preload_content=False)
    assert watched.status == 200 and b"used-cm" in watched.read()
    refused: list[Callable[[], object]] = [
        lambda: node.list_namespaced_config_map("default"),
        lambda: node.list_namespaced_config_map("default",
                                                field_selector="metadata.name=unused-cm"),
        lambda: node.list_namespaced_config_map("default",
                                                field_selector="metadata.name!=unused-cm"),
        lambda: node.list_config_map_for_all_namespaces(field_selector="metadata.name=used-cm"),
        lambda: node.list_namespaced_secret("default", field_selector="metadata.name=used-cm"),
    ]
    for refused_request in refused:
        with pytest.raises(ApiException) as caught:
            refused_request()
        assert caught.value.status == 403
    core.delete_namespaced_pod("uses-cm", "default", grace_period_seconds=0)
    with pytest.raises(ApiException) as caught:  # no pod of the node uses it any more
        node.list_namespaced_config_map("default", field_selector="metadata.name=used-cm")
    assert caught.value.status == 403
    for name in ("used-cm", "unused-cm"):
        core.delete_namespaced_config_map(name, "default")


def test_graceful_pod_deletion_and_finalizers(core: k8s.CoreV1Api,
                                              apiserver: RunningApiServer) -> None:
    core.create_namespaced_pod("default", {
        "metadata": {"name": "graceful"},
        "spec": {"nodeName": "nl-node1", "terminationGracePeriodSeconds": 20,
                 "containers": [{"name": "c", "image": "busybox"}]}})
    core.delete_namespaced_pod("graceful", "default")
    pod = core.read_namespaced_pod("graceful", "default")
    assert pod.metadata.deletion_timestamp is not None
    assert pod.metadata.deletion_grace_period_seconds == 20
    node = _node(apiserver, "nl-node1")
    node.delete_namespaced_pod("graceful", "default", grace_period_seconds=0)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("graceful", "default")
    assert caught.value.status == 404
    core.create_namespaced_config_map("default", {
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("held", "default")
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("held", "default")
    assert caught.value.status == 404


def test_kubectl_auth_whoami_and_can_i(apiserver: RunningApiServer) -> None:
    who = apiserver.kubectl("auth", "whoami").stdout
    assert "admin" in who and "system:masters" in who
    assert apiserver.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    node_config = apiserver.node_kubeconfig("nl-node1")
    who = apiserver.kubectl("auth", "whoami", kubeconfig=node_config).stdout
    assert "system:node:nl-node1" in who and "system:nodes" in who
    answer = apiserver.kubectl("auth", "can-i", "create", "configmaps", check=False,
                               kubeconfig=node_config)
    assert answer.stdout.strip() == "no - can only read resources of this type"
    answer = apiserver.kubectl("auth", "can-i", "patch", "nodes/nl-node1",
                               kubeconfig=node_config)
    assert answer.stdout.strip() == "yes"


def test_forced_delete_of_a_pod_held_by_a_finalizer(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_pod("default", {
        "metadata": {"name": "held-pod", "finalizers": ["example.com/hold"]},
        "spec": {"nodeName": "nl-node1", "containers": [{"name": "c", "image": "busybox"}]}})
    core.delete_namespaced_pod("held-pod", "default")
    assert core.read_namespaced_pod("held-pod", "default").metadata \
        .deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("held-pod", "default", grace_period_seconds=0)
    pod = core.read_namespaced_pod("held-pod", "default")
    assert pod.metadata.deletion_grace_period_seconds == 0
    core.patch_namespaced_pod("held-pod", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("held-pod", "default")
    assert caught.value.status == 404


def test_a_deleted_pods_token_stops_working(apiserver: RunningApiServer,
                                            core: k8s.CoreV1Api) -> None:
    pod = core.create_namespaced_pod("default", {
        "metadata": {"name": "bound-token"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    request = core.create_namespaced_service_account_token("default", "default", {
        "spec": {"audiences": [], "boundObjectRef": {
            "kind": "Pod", "apiVersion": "v1", "name": "bound-token",
            "uid": pod.metadata.uid}}})
    token = request.status.token
    assert _raw(apiserver, "/api/v1", token=token)[0] == 200
    core.delete_namespaced_pod("bound-token", "default", grace_period_seconds=0)
    assert _raw(apiserver, "/api/v1", token=token)[0] == 401


def test_service_account_issuer_discovery(apiserver: RunningApiServer,
                                          core: k8s.CoreV1Api) -> None:
    """An OIDC consumer verifies a token with what the API server publishes (upstream's
    /.well-known/openid-configuration and /openid/v1/jwks, readable by service accounts)."""
    import jwt

    token = core.create_namespaced_service_account_token("default", "default", {
        "spec": {"expirationSeconds": 3600}}).status.token  # for the API server's audience
    code, config = _raw(apiserver, "/.well-known/openid-configuration", token=token)
    assert code == 200
    assert config["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert config["jwks_uri"] == config["issuer"] + "/openid/v1/jwks"
    assert config["id_token_signing_alg_values_supported"] == ["ES256"]
    code, jwks = _raw(apiserver, "/openid/v1/jwks", token=token)
    assert code == 200
    (key,) = jwks["keys"]
    assert key["kid"] == jwt.get_unverified_header(token)["kid"]
    public = jwt.PyJWK(key).key
    claims = jwt.decode(token, public, algorithms=["ES256"], audience=config["issuer"],
                        issuer=config["issuer"])
    assert claims["sub"] == "system:serviceaccount:default:default"
    assert _raw(apiserver, "/openid/v1/jwks")[0] == 401  # anonymous: not bound, as upstream


@pytest.mark.parametrize(("field_selector", "allowed"), [
    ({"rawSelector": "spec.nodeName=nl-node1"}, True),
    ({"requirements": [{"key": "spec.nodeName", "operator": "In", "values": ["nl-node1"]}]},
     True),
    ({"rawSelector": "spec.nodeName=nl-node2"}, False),
    (None, False),
])
def test_an_access_review_of_a_nodes_pod_list_reads_its_field_selector(
        apiserver: RunningApiServer, core: k8s.CoreV1Api, field_selector: Any,
        allowed: bool) -> None:
    """SubjectAccessReview's resourceAttributes.fieldSelector (AuthorizeWithSelectors): the
    Node authorizer allows a node's pod list only with spec.nodeName=<itself>."""
    attributes: dict[str, Any] = {"verb": "list", "resource": "pods", "version": "v1"}
    if field_selector is not None:
        attributes["fieldSelector"] = field_selector
    review = k8s.AuthorizationV1Api(core.api_client).create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "system:node:nl-node1", "groups": ["system:nodes"],
                 "resourceAttributes": attributes}})
    assert review.status.allowed is allowed
    if not allowed:
        assert review.status.reason == (
            "can only list/watch pods with spec.nodeName field selector")


def test_rbac_grants_a_node_what_the_node_authorizer_does_not(
        apiserver: RunningApiServer, core: k8s.CoreV1Api) -> None:
    """`--authorization-mode=Node,RBAC`: a ClusterRole bound to the group `system:nodes` lets
    a node read deployments, which the Node authorizer has no opinion on."""
    node = k8s.AppsV1Api(apiserver.client(apiserver.node_kubeconfig("nl-node1")))
    with pytest.raises(ApiException) as caught:
        node.list_namespaced_deployment("default")
    assert caught.value.status == 403
    rbac_api = k8s.RbacAuthorizationV1Api(core.api_client)
    rbac_api.create_cluster_role({"metadata": {"name": "nodes-read-deployments"}, "rules": [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}]})
    rbac_api.create_cluster_role_binding({
        "metadata": {"name": "nodes-read-deployments"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "nodes-read-deployments"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                      "name": "system:nodes"}]})
    try:
        assert node.list_namespaced_deployment("default").items == []
    finally:
        rbac_api.delete_cluster_role_binding("nodes-read-deployments")
        rbac_api.delete_cluster_role("nodes-read-deployments")
