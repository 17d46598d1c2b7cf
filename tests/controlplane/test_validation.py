"""Malformed objects get 422 Invalid with a StatusCause naming each bad field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.watchclient import request

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
SVC: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                       "spec": {"ports": [{"port": 80}]}}
DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
    "spec": {"selector": {"matchLabels": {"app": "d"}},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
NODE: dict[str, Any] = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
SLICE: dict[str, Any] = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                         "metadata": {"name": "es"}, "addressType": "IPv4",
                         "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80}]}

PATHS = {"Pod": "/api/v1/namespaces/default/pods",
         "Service": "/api/v1/namespaces/default/services",
         "Deployment": "/apis/apps/v1/namespaces/default/deployments",
         "Node": "/api/v1/nodes",
         "EndpointSlice": "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
         "ConfigMap": "/api/v1/namespaces/default/configmaps",
         "Namespace": "/api/v1/namespaces",
         "Lease": "/apis/coordination.k8s.io/v1/namespaces/default/leases",
         "Secret": "/api/v1/namespaces/default/secrets",
         "Event": "/api/v1/namespaces/default/events"}


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(base)
    target: Any = obj
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is _DELETE:
        if isinstance(target, list):
            del target[int(last)]
        else:
            del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return obj


_DELETE = object()

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("pod without containers", _with(POD, "spec.containers", []), "spec.containers"),
    ("container without image", _with(POD, "spec.containers.0.image", _DELETE),
     "spec.containers[0].image"),
    ("container with bad name", _with(POD, "spec.containers.0.name", "Bad_Name"),
     "spec.containers[0].name"),
    ("duplicate container names", _with(POD, "spec.containers", [
        {"name": "c", "image": "a"}, {"name": "c", "image": "b"}]), "spec.containers[1].name"),
    ("container port out of range", _with(POD, "spec.containers.0.ports",
                                          [{"containerPort": 70000}]),
     "spec.containers[0].ports[0].containerPort"),
    ("unknown protocol", _with(POD, "spec.containers.0.ports",
                               [{"containerPort": 80, "protocol": "XTP"}]),
     "spec.containers[0].ports[0].protocol"),
    ("bad restartPolicy", _with(POD, "spec.restartPolicy", "Sometimes"), "spec.restartPolicy"),
    ("bad imagePullPolicy", _with(POD, "spec.containers.0.imagePullPolicy", "Maybe"),
     "spec.containers[0].imagePullPolicy"),
    ("bad quantity", _with(POD, "spec.containers.0.resources", {"limits": {"cpu": "lots"}}),
     "spec.containers[0].resources.limits[cpu]"),
    ("request above limit", _with(POD, "spec.containers.0.resources", {
        "limits": {"memory": "64Mi"}, "requests": {"memory": "128Mi"}}),
     "spec.containers[0].resources.requests"),
    ("mount of a missing volume", _with(POD, "spec.containers.0.volumeMounts",
                                        [{"name": "nope", "mountPath": "/x"}]),
     "spec.containers[0].volumeMounts[0].name"),
    ("probe without handler", _with(POD, "spec.containers.0.livenessProbe",
                                    {"periodSeconds": 5}), "spec.containers[0].livenessProbe"),
    ("readiness probe with its own grace period", _with(POD, "spec.containers.0.readinessProbe",
                                                        {"exec": {"command": ["true"]},
                                                         "terminationGracePeriodSeconds": 5}),
     "spec.containers[0].readinessProbe.terminationGracePeriodSeconds"),
    ("probe grace period of zero", _with(POD, "spec.containers.0.livenessProbe",
                                         {"exec": {"command": ["true"]},
                                          "terminationGracePeriodSeconds": 0}),
     "spec.containers[0].livenessProbe.terminationGracePeriodSeconds"),
    ("host alias without an IP", _with(POD, "spec.hostAliases", [{"hostnames": ["a"]}]),
     "spec.hostAliases[0].ip"),
    ("host alias with a bad IP", _with(POD, "spec.hostAliases", [{"ip": "10.0.0.300"}]),
     "spec.hostAliases[0].ip"),
    ("host alias with a bad hostname", _with(POD, "spec.hostAliases", [
        {"ip": "10.0.0.3", "hostnames": ["ok.example", "Bad_Name"]}]),
     "spec.hostAliases[0].hostnames[1]"),
    ("readiness gate not a qualified name", _with(POD, "spec.readinessGates", [
        {"conditionType": "not a name"}]), "spec.readinessGates[0].conditionType"),
    ("invalid pod name", _with(POD, "metadata.name", "Not_Valid"), "metadata.name"),
    ("invalid label value", _with(POD, "metadata.labels", {"app": "has space"}),
     "metadata.labels"),
    ("negative grace period", _with(POD, "spec.terminationGracePeriodSeconds", -5),
     "spec.terminationGracePeriodSeconds"),
    ("service without ports", _with(SVC, "spec.ports", []), "spec.ports"),
    ("service port out of range", _with(SVC, "spec.ports.0.port", 0), "spec.ports[0].port"),
    ("bad service type", _with(SVC, "spec.type", "Magic"), "spec.type"),
    ("node port out of range", _with(_with(SVC, "spec.type", "NodePort"),
                                     "spec.ports.0.nodePort", 80), "spec.ports[0].nodePort"),
    ("cluster IP outside the range", _with(SVC, "spec.clusterIP", "192.168.1.1"),
     "spec.clusterIPs"),
    ("unnamed ports in a multi-port service", _with(SVC, "spec.ports", [
        {"port": 80}, {"port": 81}]), "spec.ports[0].name"),
    ("service name not DNS-1035", _with(SVC, "metadata.name", "1svc"), "metadata.name"),
    ("deployment without selector", _with(DEPLOY, "spec.selector", _DELETE), "spec.selector"),
    ("deployment with an empty selector", _with(DEPLOY, "spec.selector", {}), "spec.selector"),
    ("selector not matching template", _with(DEPLOY, "spec.template.metadata.labels",
                                             {"app": "other"}),
     "spec.template.metadata.labels"),
    ("negative replicas", _with(DEPLOY, "spec.replicas", -1), "spec.replicas"),
    ("deployment with restartPolicy Never", _with(DEPLOY, "spec.template.spec.restartPolicy",
                                                  "Never"),
     "spec.template.spec.restartPolicy"),
    ("deployment strategy unknown", _with(DEPLOY, "spec.strategy", {"type": "Teleport"}),
     "spec.strategy.type"),
    ("deployment maxSurge a number in a string", _with(DEPLOY, "spec.strategy", {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": "5"}}),
     "spec.strategy.rollingUpdate.maxSurge"),
    ("node with bad podCIDR", _with(NODE, "spec", {"podCIDR": "10.244.1.5/24"}),
     "spec.podCIDR"),
    ("node taint with bad effect", _with(NODE, "spec", {"taints": [
        {"key": "k", "effect": "Sometimes"}]}), "spec.taints[0].effect"),
    ("endpointslice bad address type", _with(SLICE, "addressType", "IPv5"), "addressType"),
    ("endpointslice bad address", _with(SLICE, "endpoints.0.addresses", ["not-an-ip"]),
     "endpoints[0].addresses[0]"),
    ("endpointslice port out of range", _with(SLICE, "ports.0.port", 99999), "ports[0].port"),
    ("configmap bad key", {"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "cm"}, "data": {"bad key!": "x"}},
     "data[bad key!]"),
    ("namespace name not a label", {"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": "a.b"}}, "metadata.name"),
    ("tls secret without key", {"apiVersion": "v1", "kind": "Secret",
                                "metadata": {"name": "tls"}, "type": "kubernetes.io/tls",
                                "data": {"tls.crt": "eA=="}}, "data[tls.key]"),
    ("event for another namespace", {"apiVersion": "v1", "kind": "Event",
                                     "metadata": {"name": "e"}, "reason": "R",
                                     "involvedObject": {"kind": "Pod", "name": "p",
                                                        "namespace": "other"}},
     "involvedObject.namespace"),
    ("lease with zero duration", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                  "metadata": {"name": "l"},
                                  "spec": {"leaseDurationSeconds": 0}},
     "spec.leaseDurationSeconds"),
]


@pytest.mark.parametrize(("label", "body", "field"), CASES, ids=[c[0] for c in CASES])
def test_invalid_object_is_422_naming_the_field(apiserver: RunningApiServer, label: str,
                                                body: dict[str, Any], field: str) -> None:
    code, answer = request(apiserver, "POST", PATHS[body["kind"]], body)
    assert code == 422, answer
    assert answer["reason"] == "Invalid"
    fields = [c["field"] for c in answer["details"]["causes"]]
    assert field in fields, f"{label}: {fields}"
    assert answer["details"]["kind"] == body["kind"]


def test_many_errors_reported_at_once(apiserver: RunningApiServer) -> None:
    body = _with(_with(POD, "spec.restartPolicy", "Sometimes"), "spec.containers.0.image",
                 _DELETE)
    code, answer = request(apiserver, "POST", PATHS["Pod"], body)
    assert code == 422
    assert {c["field"] for c in answer["details"]["causes"]} >= {
        "spec.restartPolicy", "spec.containers[0].image"}
    assert answer["message"].startswith('Pod "p" is invalid: [')


def test_python_client_sees_422(core: Any) -> None:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod("default", _with(POD, "spec.containers", []))
    assert caught.value.status == 422
    assert json.loads(caught.value.body)["details"]["causes"][0]["field"] == "spec.containers"


def test_kubectl_prints_the_field(apiserver: RunningApiServer) -> None:
    result = apiserver.kubectl("create", "-f", "-", check=False,
                               input=json.dumps(_with(POD, "spec.containers.0.image", _DELETE)))
    assert result.returncode != 0
    assert "spec.containers[0].image: Required value" in result.stderr


def test_pod_update_may_only_change_images(apiserver: RunningApiServer) -> None:
    body = _with(POD, "metadata.name", "upd")
    assert request(apiserver, "POST", PATHS["Pod"], body)[0] == 201
    code, answer = request(apiserver, "PATCH", f"{PATHS['Pod']}/upd",
                           {"spec": {"restartPolicy": "Never"}}, "application/merge-patch+json")
    assert code == 422 and answer["details"]["causes"][0]["field"] == "spec"
    code, _ = request(apiserver, "PATCH", f"{PATHS['Pod']}/upd",
                      {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}},
                      "application/strategic-merge-patch+json")
    assert code == 200


def test_set_element_order_without_merge_key_is_upstreams_panic(
        apiserver: RunningApiServer) -> None:
    """Tolerations have no merge key: kube-apiserver's merge compares the objects with Go's
    `==` and panics; its panic filter answers a plain-text 500, which kubectl prints."""
    body = _with(_with(POD, "metadata.name", "seo"), "spec.tolerations", [{"key": "a"}])
    assert request(apiserver, "POST", PATHS["Pod"], body)[0] == 201
    patch = {"spec": {"$setElementOrder/tolerations": [{"key": "a"}],
                      "tolerations": [{"key": "a", "operator": "Exists"}]}}
    result = apiserver.kubectl("patch", "pod", "seo", "--type=strategic", "-p",
                               json.dumps(patch), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        'Error from server (InternalError): an error on the server ("This request caused '
        'apiserver to panic. Look in the logs for details.") has prevented the request from '
        'succeeding (patch pods seo)')
    result = apiserver.kubectl("patch", "pod", "seo", "--type=strategic", "-p", json.dumps(
        {"spec": {"containers": [{"name": "c", "$setElementOrder/args": ["x", "y"],
                                  "args": ["y", "x"]}]}}), check=False)
    assert result.stderr.strip() == (
        "Error from server: The order in patch list:\n[y x]\n doesn't match "
        "$setElementOrder list:\n[x y]")


def test_unknown_fields_follow_field_validation(apiserver: RunningApiServer) -> None:
    body = _with(_with(POD, "metadata.name", "fv"), "spec.bogus", 1)
    code, answer = request(apiserver, "POST", PATHS["Pod"] + "?fieldValidation=Strict", body)
    assert code == 400 and 'unknown field "spec.bogus"' in answer["message"]
    code, answer = request(apiserver, "POST", PATHS["Pod"] + "?fieldValidation=Ignore", body)
    assert code == 201 and "bogus" not in answer["spec"]


def test_node_pod_cidr_is_set_once(apiserver: RunningApiServer) -> None:
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "cidr-node"},
            "spec": {"podCIDR": "10.244.3.0/24"}}
    assert request(apiserver, "POST", PATHS["Node"], body)[0] == 201
    code, answer = request(apiserver, "PATCH", f"{PATHS['Node']}/cidr-node",
                           {"spec": {"podCIDR": "10.244.4.0/24"}},
                           "application/merge-patch+json")
    assert code == 422 and answer["details"]["causes"][0]["field"] == "spec.podCIDRs"


def test_immutable_configmap(apiserver: RunningApiServer) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen"},
            "data": {"a": "1"}, "immutable": True}
    assert request(apiserver, "POST", PATHS["ConfigMap"], body)[0] == 201
    code, answer = request(apiserver, "PATCH", f"{PATHS['ConfigMap']}/frozen",
                           {"data": {"a": "2"}}, "application/merge-patch+json")
    assert code == 422 and answer["details"]["causes"][0]["field"] == "data"
    code, _ = request(apiserver, "PATCH", f"{PATHS['ConfigMap']}/frozen",
                      {"metadata": {"labels": {"ok": "yes"}}}, "application/merge-patch+json")
    assert code == 200
