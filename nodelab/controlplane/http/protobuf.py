"""Decoding Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|service|sa`,
`create token`, `drain`'s evictions) send their bodies as protobuf, not JSON, and do not fall
back when refused. This module turns such a body into the JSON object the same request would
have carried:

- the envelope is the 4-byte magic `k8s\\0` and a `runtime.Unknown` message (typeMeta, raw);
- `raw` is the protobuf encoding of the Go type, decoded with the field-number tables below,
  which list the messages those commands can produce (field numbers are part of the stable
  Kubernetes wire format, `k8s.io/api/.../generated.proto`);
- Go's encoder writes non-pointer fields even when empty, where JSON would omit them, so
  empty strings, zeros and `false` are dropped unless the field is a pointer in Go (marked `*`).

Fields not in the tables are skipped; the server answers in JSON, which every client accepts.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from nodelab.controlplane import errors
from nodelab.kube.times import format_time

Object = dict[str, Any]
MAGIC = b"k8s\x00"

# message -> field number -> (json name, type); type: scalar name, message name,
# "[]T" repeated, "map:V" map<string, V>; a leading "*" keeps zero values.
S, N, B, Y = "string", "int", "bool", "bytes"
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", Y), 3: ("contentEncoding", S),
                4: ("contentType", S)},
    "TypeMeta": {1: ("apiVersion", S), 2: ("kind", S)},
    "ObjectMeta": {1: ("name", S), 2: ("generateName", S), 3: ("namespace", S),
                   5: ("uid", S), 6: ("resourceVersion", S), 7: ("generation", N),
                   11: ("labels", "map:string"), 12: ("annotations", "map:string"),
                   13: ("ownerReferences", "[]OwnerReference"), 14: ("finalizers", "[]string")},
    "OwnerReference": {1: ("kind", S), 3: ("name", S), 4: ("uid", S), 5: ("apiVersion", S),
                       6: ("controller", "*bool"), 7: ("blockOwnerDeletion", "*bool")},
    "LabelSelector": {1: ("matchLabels", "map:string"),
                      2: ("matchExpressions", "[]LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: ("key", S), 2: ("operator", S), 3: ("values", "[]string")},
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "ConfigMap": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:string"),
                  3: ("binaryData", "map:bytes"), 4: ("immutable", "*bool")},
    "Secret": {1: ("metadata", "ObjectMeta"), 2: ("data", "map:bytes"), 3: ("type", S),
               4: ("stringData", "map:string"), 5: ("immutable", "*bool")},
    "ServiceAccount": {1: ("metadata", "ObjectMeta"), 2: ("secrets", "[]ObjectReference"),
                       3: ("imagePullSecrets", "[]LocalObjectReference"),
                       4: ("automountServiceAccountToken", "*bool")},
    "ObjectReference": {1: ("kind", S), 2: ("namespace", S), 3: ("name", S), 4: ("uid", S),
                        5: ("apiVersion", S), 6: ("resourceVersion", S), 7: ("fieldPath", S)},
    "LocalObjectReference": {1: ("name", S)},
    "Service": {1: ("metadata", "ObjectMeta"), 2: ("spec", "ServiceSpec")},
    "ServiceSpec": {1: ("ports", "[]ServicePort"), 2: ("selector", "map:string"),
                    3: ("clusterIP", S), 4: ("type", S), 5: ("externalIPs", "[]string"),
                    7: ("sessionAffinity", S), 8: ("loadBalancerIP", S),
                    10: ("externalName", S), 11: ("externalTrafficPolicy", S),
                    13: ("publishNotReadyAddresses", B), 17: ("ipFamilyPolicy", "*string"),
                    18: ("clusterIPs", "[]string"), 19: ("ipFamilies", "[]string"),
                    22: ("internalTrafficPolicy", "*string")},
    "ServicePort": {1: ("name", S), 2: ("protocol", S), 3: ("port", N),
                    4: ("targetPort", "IntOrString"), 5: ("nodePort", N), 6: ("appProtocol", S)},
    "Deployment": {1: ("metadata", "ObjectMeta"), 2: ("spec", "DeploymentSpec")},
    "DeploymentSpec": {1: ("replicas", "*int"), 2: ("selector", "LabelSelector"),
                       3: ("template", "PodTemplateSpec"), 4: ("strategy", "DeploymentStrategy"),
                       5: ("minReadySeconds", N), 6: ("revisionHistoryLimit", "*int"),
                       7: ("paused", B), 9: ("progressDeadlineSeconds", "*int")},
    "DeploymentStrategy": {1: ("type", S), 2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "IntOrString"),
                                2: ("maxSurge", "IntOrString")},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "PodSpec")},
    "PodSpec": {2: ("containers", "[]Container"), 3: ("restartPolicy", S),
                4: ("terminationGracePeriodSeconds", "*int"),
                5: ("activeDeadlineSeconds", "*int"), 6: ("dnsPolicy", S),
                7: ("nodeSelector", "map:string"), 8: ("serviceAccountName", S),
                10: ("nodeName", S), 11: ("hostNetwork", B), 16: ("hostname", S),
                19: ("schedulerName", S), 20: ("initContainers", "[]Container"),
                21: ("automountServiceAccountToken", "*bool"), 24: ("priorityClassName", S),
                30: ("enableServiceLinks", "*bool")},
    "Container": {1: ("name", S), 2: ("image", S), 3: ("command", "[]string"),
                  4: ("args", "[]string"), 5: ("workingDir", S), 6: ("ports", "[]ContainerPort"),
                  7: ("env", "[]EnvVar"), 8: ("resources", "ResourceRequirements"),
                  9: ("volumeMounts", "[]VolumeMount"), 13: ("terminationMessagePath", S),
                  14: ("imagePullPolicy", S), 16: ("stdin", B), 17: ("stdinOnce", B),
                  18: ("tty", B), 20: ("terminationMessagePolicy", S)},
    "ContainerPort": {1: ("name", S), 2: ("hostPort", N), 3: ("containerPort", N),
                      4: ("protocol", S), 5: ("hostIP", S)},
    "EnvVar": {1: ("name", S), 2: ("value", S)},
    "ResourceRequirements": {1: ("limits", "map:Quantity"), 2: ("requests", "map:Quantity")},
    "VolumeMount": {1: ("name", S), 2: ("readOnly", B), 3: ("mountPath", S), 4: ("subPath", S)},
    "Eviction": {1: ("metadata", "ObjectMeta"), 2: ("deleteOptions", "DeleteOptions")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "*int"), 2: ("preconditions", "Preconditions"),
                      3: ("orphanDependents", "*bool"), 4: ("propagationPolicy", "*string"),
                      5: ("dryRun", "[]string")},
    "Preconditions": {1: ("uid", "*string"), 2: ("resourceVersion", "*string")},
    "TokenRequest": {1: ("metadata", "ObjectMeta"), 2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "[]string"), 3: ("boundObjectRef",
                                                          "BoundObjectReference"),
                         4: ("expirationSeconds", "*int")},
    "BoundObjectReference": {1: ("kind", S), 2: ("apiVersion", S), 3: ("name", S),
                             4: ("uid", S)},
    "Binding": {1: ("metadata", "ObjectMeta"), 2: ("target", "ObjectReference")},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta")},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta"),
                                2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", S), 2: ("verb", S), 3: ("group", S),
                           4: ("version", S), 5: ("resource", S), 6: ("subresource", S),
                           7: ("name", S)},
    "NonResourceAttributes": {1: ("path", S), 2: ("verb", S)},
}
# certificates.k8s.io/v1 (`kubectl certificate approve|deny` PUTs the whole object)
MESSAGES.update({
    "CertificateSigningRequest": {1: ("metadata", "ObjectMeta"),
                                  2: ("spec", "CertificateSigningRequestSpec"),
                                  3: ("status", "CertificateSigningRequestStatus")},
    "CertificateSigningRequestSpec": {1: ("request", Y), 2: ("username", S), 3: ("uid", S),
                                      4: ("groups", "[]string"), 5: ("usages", "[]string"),
                                      7: ("signerName", S), 8: ("expirationSeconds", "*int")},
    "CertificateSigningRequestStatus": {
        1: ("conditions", "[]CertificateSigningRequestCondition"), 2: ("certificate", Y)},
    "CertificateSigningRequestCondition": {1: ("type", S), 6: ("status", S), 2: ("reason", S),
                                           3: ("message", S), 4: ("lastUpdateTime", "Time"),
                                           5: ("lastTransitionTime", "Time")},
})
# batch/v1 (`kubectl create job|cronjob`, `create job --from=cronjob/X`)
MESSAGES.update({
    "Job": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
    "JobSpec": {1: ("parallelism", "*int"), 2: ("completions", "*int"),
                3: ("activeDeadlineSeconds", "*int"), 4: ("selector", "LabelSelector"),
                5: ("manualSelector", "*bool"), 6: ("template", "PodTemplateSpec"),
                7: ("backoffLimit", "*int"), 8: ("ttlSecondsAfterFinished", "*int"),
                9: ("completionMode", "*string"), 10: ("suspend", "*bool"),
                14: ("podReplacementPolicy", "*string"), 15: ("managedBy", "*string")},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta"), 2: ("spec", "JobSpec")},
    "CronJob": {1: ("metadata", "ObjectMeta"), 2: ("spec", "CronJobSpec")},
    "CronJobSpec": {1: ("schedule", S), 8: ("timeZone", "*string"),
                    2: ("startingDeadlineSeconds", "*int"), 3: ("concurrencyPolicy", S),
                    4: ("suspend", "*bool"), 5: ("jobTemplate", "JobTemplateSpec"),
                    6: ("successfulJobsHistoryLimit", "*int"),
                    7: ("failedJobsHistoryLimit", "*int")},
})
KIND_MESSAGES = {"Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "Deployment",
                 "Eviction", "TokenRequest", "Binding", "DeleteOptions", "SelfSubjectReview",
                 "SelfSubjectAccessReview", "CertificateSigningRequest", "Job", "CronJob"}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """The raw (field number, wire type, value) triples of one message."""
    found, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        found.append((number, wire, value))
    return found


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return bytes(value).decode()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind == "Quantity":
        return _quantity(value)
    if kind == "IntOrString":
        parts = {n: v for n, _, v in fields(value)}
        return _scalar("int", parts.get(2, 0)) if parts.get(1, 0) == 0 else (
            bytes(parts.get(3, b"")).decode())
    if kind == "Time":
        parts = {n: v for n, _, v in fields(value)}
        return format_time(datetime.datetime.fromtimestamp(parts.get(1, 0),
                                                           datetime.timezone.utc))
    return decode_message(kind, value)


def _quantity(value: bytes) -> str:
    parts = {n: v for n, _, v in fields(value)}
    return bytes(parts.get(1, b"")).decode()


def _empty(value: Any) -> bool:
    return value in ("", 0, False, None) or value == {} or value == []


def decode_message(message: str, data: bytes) -> Object:
    table = MESSAGES.get(message, {})
    result: Object = {}
    for number, _, value in fields(data):
        if number not in table:
            continue
        name, kind = table[number]
        keep = kind.startswith("*")
        kind = kind.lstrip("*")
        if kind.startswith("[]"):
            result.setdefault(name, []).append(_scalar(kind[2:], value))
        elif kind.startswith("map:"):
            entry = {n: v for n, _, v in fields(value)}
            key = bytes(entry.get(1, b"")).decode()
            result.setdefault(name, {})[key] = _scalar(kind[4:], entry.get(2, b""))
        else:
            decoded = _scalar(kind, value)
            if keep or not _empty(decoded):
                result[name] = decoded
    return {k: v for k, v in result.items() if not (isinstance(v, dict) and not v
                                                    and not table_keeps(table, k))}


def table_keeps(table: dict[int, tuple[str, str]], name: str) -> bool:
    return any(n == name and k.startswith("*") for n, k in table.values())


def decode(body: bytes) -> Object:
    """A protobuf request body as the JSON object it stands for (400 if it cannot be read)."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("protobuf body without the k8s\\0 envelope")
    try:
        unknown = {n: v for n, _, v in fields(body[len(MAGIC):])}
        type_meta = decode_message("TypeMeta", unknown.get(1, b""))
        kind = type_meta.get("kind", "")
        if kind not in KIND_MESSAGES:
            raise errors.ApiError(415, "UnsupportedMediaType",
                                  f"nodelab cannot decode protobuf {kind or 'objects'}; send JSON")
        obj = decode_message(kind, unknown.get(2, b""))
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}") from exc
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
