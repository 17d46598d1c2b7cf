"""JSON objects to upstream's protobuf messages and back (`jsonproto` then `protojson`): the
object comes back as it went, for the field shapes the API has."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.controlplane.auth.bootstrap_policy import CLUSTER_ROLES
from nodelab.controlplane.http import protobuf
from nodelab.controlplane.registry.strategies import service_account_volume
from nodelab.kube.protobuf import jsonproto, protojson

pytestmark = pytest.mark.unit

META = {"name": "web", "namespace": "default", "uid": "0b5c", "resourceVersion": "42",
        "generation": 3, "creationTimestamp": "2026-01-02T03:04:05Z",
        "labels": {"app": "web"}, "annotations": {"a": "b"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
                             "uid": "77", "controller": True, "blockOwnerDeletion": True}],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-01-02T03:04:05Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:labels": {".": {}}}}}]}
POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": META, "spec": {
    "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                    "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {
                        "name": "cm", "key": "k", "optional": True}}}],
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/", "port": "http"},
                                       "periodSeconds": 5},
                    "livenessProbe": {"tcpSocket": {"port": 8080}},
                    "securityContext": {"runAsUser": 0, "privileged": False}}],
    "volumes": [{"name": "cfg", "configMap": {"name": "cm", "defaultMode": 420}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
    "nodeName": "node1"},
    "status": {"phase": "Running", "podIP": "10.244.0.5",
               "conditions": [{"type": "Ready", "status": "True",
                               "lastTransitionTime": "2026-01-02T03:04:06Z"}],
               "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                      "image": "busybox", "imageID": "sha256:1",
                                      "state": {"running": {
                                          "startedAt": "2026-01-02T03:04:06Z"}}}]}}
SA_POD = {**POD, "spec": {**POD["spec"], "volumes": [service_account_volume()]}}
OBJECTS: list[dict[str, Any]] = [
    POD,
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"},
     "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
              "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}},
                                     "podSelector": {"matchExpressions": [
                                         {"key": "x", "operator": "In", "values": ["1"]}]}}],
                           "ports": [{"protocol": "TCP", "port": "http"}]}],
              "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                              "except": ["10.1.0.0/16"]}}],
                          "ports": [{"protocol": "UDP", "port": 53, "endPort": 60}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
     "spec": {"ingressClassName": "nginx", "rules": [{"host": "a.example.com", "http": {
         "paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {
             "name": "web", "port": {"number": 80}}}}]}}],
         "tls": [{"hosts": ["a.example.com"], "secretName": "cert"}]},
     "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}]}}},
    SA_POD,  # the projected kube-api-access volume: a downwardAPI projection is {"items": [...]}
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
     "data": {"a": "b"}, "binaryData": {"bin": "AAEC"}},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
     "data": {"k": "c2VjcmV0"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
        "replicas": 0, "selector": {"matchLabels": {"app": "d"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                "maxUnavailable": 1}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "c", "image": "busybox"}]}}}},
    {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
     "metadata": {"name": "node1", "namespace": "kube-node-lease"},
     "spec": {"holderIdentity": "node1", "leaseDurationSeconds": 40,
              "renewTime": "2026-01-02T03:04:05.123456Z"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
        "selector": {"app": "web"}, "clusterIP": "10.96.0.20", "type": "ClusterIP"}},
    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
     "spec": {"token": "t"}, "metadata": {},
     "status": {"authenticated": True, "user": {"username": "u", "extra": {
         "x": ["1", "2"]}}}},
    {"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "9"},
     "items": [{**POD, "apiVersion": None, "kind": None}]},
    *[{"apiVersion": "rbac.authorization.k8s.io/v1", **role} for role in CLUSTER_ROLES[:6]],
]


def _clean(value: Any) -> Any:
    """The object without what protobuf cannot carry (None values and empty lists: a Go nil
    slice, as upstream's own protobuf answers have it)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@pytest.mark.parametrize("obj", OBJECTS, ids=[f"{o['kind']}-{i}" for i, o in enumerate(OBJECTS)])
def test_an_object_comes_back_as_it_went(obj: dict[str, Any]) -> None:
    message_class = protojson.message_class(obj["apiVersion"], obj["kind"])
    assert message_class is not None
    message = jsonproto.from_object(obj, message_class)
    decoded = message_class.FromString(message.SerializeToString())
    back = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], **protojson.to_object(decoded)}
    assert back == _clean(obj)


def test_the_envelope_decodes_as_a_request_body_would() -> None:
    encoded = protobuf.encode(POD)
    assert encoded is not None and encoded.startswith(protobuf.MAGIC)
    assert protobuf.decode(encoded) == POD


def test_a_status_is_meta_v1s_in_the_v1_envelope() -> None:
    """An error Status travels as `v1`/`Status` with meta/v1's message, causes included."""
    status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": 'pods "x" is invalid', "reason": "Invalid", "code": 422,
              "details": {"name": "x", "kind": "pods", "causes": [
                  {"reason": "FieldValueRequired", "message": "Required value",
                   "field": "spec.containers"}]}}
    encoded = protobuf.encode(status)
    assert encoded is not None
    assert protobuf.decode(encoded) == status


@pytest.mark.parametrize(("obj", "why"), [
    ({"apiVersion": "v1", "kind": "Widget"}, "no message of that kind in core/v1"),
    ({"apiVersion": "example.com/v1", "kind": "Widget"}, "a kind upstream does not define"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 5}}, "a wrong JSON type"),
])
def test_what_has_no_protobuf_form_stays_json(obj: dict[str, Any], why: str) -> None:
    assert protobuf.encode(obj) is None, why


@pytest.mark.parametrize(("accept", "protobuf_wanted"), [
    ("application/vnd.kubernetes.protobuf, */*", True),
    ("application/vnd.kubernetes.protobuf,application/json", True),
    ("application/json, application/vnd.kubernetes.protobuf", False),
    ("application/json;q=0.5, application/vnd.kubernetes.protobuf", True),
    ("application/vnd.kubernetes.protobuf;q=0, application/json", False),
    ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json", False),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io", False),
    ("*/*", False),
    ("", False),
])
def test_accept_negotiation(accept: str, protobuf_wanted: bool) -> None:
    assert protobuf.wanted(accept) is protobuf_wanted


@pytest.mark.parametrize(("text", "nanoseconds"), [
    ("0", 0), ("0s", 0), ("1h0m0s", 3_600_000_000_000), ("1m30s", 90_000_000_000),
    ("1.5s", 1_500_000_000), ("-2ms", -2_000_000), ("300ns", 300),
])
def test_go_durations(text: str, nanoseconds: int) -> None:
    assert jsonproto.parse_duration(text) == nanoseconds
