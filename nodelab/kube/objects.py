"""The vocabulary for Kubernetes objects as the agents hold them: JSON dicts, typed where read.

Every component gets objects as JSON (the API server stores them so; the official client's
`sanitize_for_serialization` gives them so), so one alias names them everywhere:

- `Object`: an object (or any part of one) as a mutable JSON dict;
- `ObjectView`: the same, read-only (what pure plans take).

The TypedDicts below describe the fields the agents read (metadata, and the Pod fields the
kubelet and the scheduler act on), all optional as in the API (`total=False`), so a plan can
say `pod: Pod` and mypy checks the key names it reads. They describe, they do not validate:
the API server's `validation/` does that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

Object = dict[str, Any]
ObjectView = Mapping[str, Any]


class OwnerReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReference]
    finalizers: list[str]


class ResourceRequirements(TypedDict, total=False):
    requests: dict[str, str]
    limits: dict[str, str]


class Container(TypedDict, total=False):
    name: str
    image: str
    imagePullPolicy: str  # Always | IfNotPresent | Never
    command: list[str]
    args: list[str]
    workingDir: str
    env: list[Object]
    envFrom: list[Object]
    ports: list[Object]
    resources: ResourceRequirements
    volumeMounts: list[Object]
    livenessProbe: Object
    readinessProbe: Object
    startupProbe: Object
    lifecycle: Object
    restartPolicy: str  # Always: a sidecar (restartable init container)
    securityContext: Object
    stdin: bool
    tty: bool
    terminationMessagePath: str
    terminationMessagePolicy: str


class PodSpec(TypedDict, total=False):
    nodeName: str
    containers: list[Container]
    initContainers: list[Container]
    restartPolicy: str  # Always | OnFailure | Never
    terminationGracePeriodSeconds: int
    activeDeadlineSeconds: int
    volumes: list[Object]
    hostNetwork: bool
    hostPID: bool
    hostIPC: bool
    shareProcessNamespace: bool
    priority: int
    priorityClassName: str
    serviceAccountName: str
    nodeSelector: dict[str, str]
    tolerations: list[Object]
    affinity: Object
    securityContext: Object
    dnsPolicy: str
    dnsConfig: Object
    hostname: str
    subdomain: str
    overhead: dict[str, str]


class PodCondition(TypedDict, total=False):
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str
    lastProbeTime: str | None
    lastTransitionTime: str


class PodStatus(TypedDict, total=False):
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    conditions: list[PodCondition]
    reason: str
    message: str
    hostIP: str
    podIP: str
    podIPs: list[dict[str, str]]
    startTime: str
    qosClass: str
    containerStatuses: list[Object]
    initContainerStatuses: list[Object]


class Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus
