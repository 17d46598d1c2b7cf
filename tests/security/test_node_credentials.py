"""A node's credentials trying every cross-node action against the real API server: 403 each.

Node `nl-a` (a real client certificate `system:node:nl-a`, group `system:nodes`) attacks node
`nl-b` and the cluster: other Nodes (by the URL, and by the URL with its own name in the body),
other Leases, pods bound elsewhere, secrets and configMaps its pods do not use, lists of
secrets, tokens for other service accounts, exec/attach/port-forward (upgrades included),
deletecollection. What its own pods need keeps working.
"""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any

import pytest

from ..controlplane.apiserver import RunningApiServer
from ..controlplane.watchclient import request
from .victim import FIGURE

A, B = "nl-a", "nl-b"


def node_request(server: RunningApiServer, node: str, method: str, path: str,
                 body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    assert server.pki is not None
    creds = server.pki.node_credentials(node)
    context = ssl.create_default_context(cafile=str(server.pki.ca_cert))
    context.load_cert_chain(str(creds.cert), str(creds.key))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context,
                                             timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        content_type = ("application/merge-patch+json" if method == "PATCH"
                        else "application/json")
        connection.request(method, path, body=payload,
                           headers={"Content-Type": content_type, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data.startswith(b"{") else data
    finally:
        connection.close()


def pod(name: str, node: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}], **spec}}


@pytest.fixture(scope="module")
def cluster(apiserver: RunningApiServer) -> RunningApiServer:
    def admin(path: str, body: dict[str, Any]) -> None:
        code, answer = request(apiserver, "POST", path, body)
        assert code == 201, answer

    for node in (A, B):
        code, answer = node_request(apiserver, node, "POST", "/api/v1/nodes",
                                    {"metadata": {"name": node}})
        assert code == 201, answer
        code, answer = node_request(
            apiserver, node, "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
            "leases", {"metadata": {"name": node}, "spec": {"holderIdentity": node}})
        assert code == 201, answer
    ns = "/api/v1/namespaces/default"
    for kind, name in (("secrets", "mine"), ("secrets", "theirs"), ("configmaps", "mine"),
                       ("configmaps", "theirs")):
        admin(f"{ns}/{kind}", {"metadata": {"name": name}})
    admin(f"{ns}/serviceaccounts", {"metadata": {"name": "other"}})
    admin(f"{ns}/pods", pod("on-a", A, volumes=[
        {"name": "s", "secret": {"secretName": "mine"}},
        {"name": "c", "configMap": {"name": "mine"}}]))
    admin(f"{ns}/pods", pod("on-b", B, serviceAccountName="other", volumes=[
        {"name": "s", "secret": {"secretName": "theirs"}}]))
    return apiserver


NS = "/api/v1/namespaces/default"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


POD_UID = "<the pod's uid>"  # filled in by the test (NodeRestriction requires one)


def token_request(pod_name: str, uid: str = "") -> dict[str, Any]:
    ref: dict[str, Any] = {"kind": "Pod", "apiVersion": "v1", "name": pod_name}
    if uid:
        ref["uid"] = uid
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": [], "boundObjectRef": ref}}


CROSS_NODE: list[tuple[str, str, str, Any, dict[str, str]]] = [
    ("patch another node", "PATCH", f"/api/v1/nodes/{B}", {"metadata": {"labels": {"x": "y"}}},
     {}),
    ("patch another node's status", "PATCH", f"/api/v1/nodes/{B}/status",
     {"status": {"phase": "x"}}, {}),
    ("delete another node, own name in the body", "DELETE", f"/api/v1/nodes/{B}",
     {"kind": "DeleteOptions", "apiVersion": "v1", "metadata": {"name": A}}, {}),
    ("replace another node, own name in the body", "PUT", f"/api/v1/nodes/{B}",
     {"metadata": {"name": A}}, {}),
    ("create a node of another name", "POST", "/api/v1/nodes", {"metadata": {"name": "nl-c"}},
     {}),
    ("deletecollection of nodes", "DELETE", "/api/v1/nodes", None, {}),
    ("another node's lease", "PATCH", f"{LEASES}/{B}", {"spec": {"holderIdentity": A}}, {}),
    ("a lease outside kube-node-lease", "POST",
     "/apis/coordination.k8s.io/v1/namespaces/default/leases", {"metadata": {"name": A}}, {}),
    ("status of a pod bound elsewhere", "PATCH", f"{NS}/pods/on-b/status",
     {"status": {"phase": "Failed"}}, {}),
    ("delete a pod bound elsewhere", "DELETE", f"{NS}/pods/on-b", None, {}),
    ("evict a pod bound elsewhere", "POST", f"{NS}/pods/on-b/eviction",
     {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "on-b"}}, {}),
    ("update its own pod's spec", "PATCH", f"{NS}/pods/on-a",
     {"metadata": {"labels": {"x": "y"}}}, {}),
    ("create a non-mirror pod", "POST", f"{NS}/pods", pod("sneaky", A), {}),
    ("deletecollection of pods", "DELETE", f"{NS}/pods", None, {}),
    ("get a secret its pods do not use", "GET", f"{NS}/secrets/theirs", None, {}),
    ("get a configMap its pods do not use", "GET", f"{NS}/configmaps/theirs", None, {}),
    ("list secrets", "GET", f"{NS}/secrets", None, {}),
    ("watch configMaps", "GET", f"{NS}/configmaps?watch=true", None, {}),
    ("token for another pod's service account", "POST",
     f"{NS}/serviceaccounts/other/token", token_request("on-b"), {}),
    ("token for a service account its pod does not use", "POST",
     f"{NS}/serviceaccounts/other/token", token_request("on-a"), {}),
    ("token without a bound pod", "POST", f"{NS}/serviceaccounts/default/token",
     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}, {}),
    ("token with the wrong pod uid", "POST", f"{NS}/serviceaccounts/default/token",
     token_request("on-a", "00000000-0000-0000-0000-000000000000"), {}),
    ("exec into its own pod (POST)", "POST", f"{NS}/pods/on-a/exec?command=sh&stdout=true",
     None, {}),
    ("exec into a pod (GET upgrade)", "GET", f"{NS}/pods/on-b/exec?command=sh&stdout=true",
     None, {"Connection": "Upgrade", "Upgrade": "websocket"}),
    ("attach to a pod (GET upgrade)", "GET", f"{NS}/pods/on-b/attach?stdout=true", None,
     {"Connection": "Upgrade", "Upgrade": "websocket"}),
    ("port-forward to a pod", "GET", f"{NS}/pods/on-b/portforward?ports=80", None,
     {"Connection": "Upgrade", "Upgrade": "websocket"}),
    ("create a configMap", "POST", f"{NS}/configmaps", {"metadata": {"name": "x"}}, {}),
    ("approve a CSR", "PUT",
     "/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval",
     {"metadata": {"name": "x"}}, {}),
    ("create a namespace", "POST", "/api/v1/namespaces", {"metadata": {"name": "evil"}}, {}),
    ("list every node", "GET", "/api/v1/nodes", None, {}),
    ("get another node", "GET", f"/api/v1/nodes/{B}", None, {}),
    ("watch another node", "GET", f"/api/v1/nodes?watch=true&fieldSelector=metadata.name%3D{B}",
     None, {}),
    ("list every pod", "GET", "/api/v1/pods", None, {}),
    ("list another node's pods", "GET", f"{NS}/pods?fieldSelector=spec.nodeName%3D{B}", None,
     {}),
    ("get a pod bound elsewhere", "GET", f"{NS}/pods/on-b", None, {}),
    ("read deployments", "GET", "/apis/apps/v1/deployments", None, {}),
    ("read cluster roles", "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", None, {}),
    ("read namespaces", "GET", "/api/v1/namespaces", None, {}),
    ("its own kubelet through nodes/proxy", "GET", f"/api/v1/nodes/{A}/proxy/pods", None, {}),
    ("another kubelet through nodes/proxy", "GET", f"/api/v1/nodes/{B}/proxy/pods", None, {}),
]


@pytest.mark.parametrize(("label", "method", "path", "body", "headers"), CROSS_NODE,
                         ids=[c[0] for c in CROSS_NODE])
def test_cross_node_action_is_forbidden(cluster: RunningApiServer, label: str, method: str,
                                        path: str, body: Any, headers: dict[str, str]) -> None:
    code, answer = node_request(cluster, A, method, path, body, headers)
    FIGURE.record("a node's credentials (API)", [] if code == 403 else [f"{label}: {code}"])
    assert code == 403, answer


ALLOWED: list[tuple[str, str, str, Any]] = [
    ("read its pods' secret", "GET", f"{NS}/secrets/mine", None),
    ("read its pods' configMap", "GET", f"{NS}/configmaps/mine", None),
    ("list its pods", "GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{A}", None),
    ("get its pod", "GET", f"{NS}/pods/on-a", None),
    ("get its own node", "GET", f"/api/v1/nodes/{A}", None),
    ("list its own node", "GET", f"/api/v1/nodes?fieldSelector=metadata.name%3D{A}", None),
    ("list services (its pods' environment)", "GET", "/api/v1/services", None),
    ("patch its own node", "PATCH", f"/api/v1/nodes/{A}", {"metadata": {"labels": {"a": "b"}}}),
    ("its own lease", "PATCH", f"{LEASES}/{A}", {"spec": {"holderIdentity": A}}),
    ("status of its pod", "PATCH", f"{NS}/pods/on-a/status", {"status": {"phase": "Running"}}),
    ("a token for its pod's service account", "POST", f"{NS}/serviceaccounts/default/token",
     token_request("on-a", POD_UID)),  # the pod's uid, as a kubelet sends it
    ("an event", "POST", f"{NS}/events",
     {"metadata": {"name": "e1"}, "reason": "R", "message": "m", "type": "Normal",
      "involvedObject": {"kind": "Pod", "name": "on-a", "namespace": "default"}}),
    ("review a token (its port 10250's webhook authentication)", "POST",
     "/apis/authentication.k8s.io/v1/tokenreviews",
     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
      "spec": {"token": "not-a-token"}}),
    ("review an access (its port 10250's webhook authorization)", "POST",
     "/apis/authorization.k8s.io/v1/subjectaccessreviews",
     {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
      "spec": {"user": "x", "resourceAttributes": {"verb": "get", "resource": "nodes",
                                                   "subresource": "proxy", "name": A}}}),
]


@pytest.mark.parametrize(("label", "method", "path", "body"), ALLOWED,
                         ids=[c[0] for c in ALLOWED])
def test_what_its_own_pods_need_still_works(cluster: RunningApiServer, label: str, method: str,
                                            path: str, body: Any) -> None:
    ref = ((body or {}).get("spec") or {}).get("boundObjectRef") or {}
    if ref.get("uid") == POD_UID:
        pod = request(cluster, "GET", f"{NS}/pods/{ref['name']}")[1]
        body = token_request(ref["name"], pod["metadata"]["uid"])
    code, answer = node_request(cluster, A, method, path, body)
    assert code in (200, 201), answer
