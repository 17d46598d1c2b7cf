"""The resource types the API server serves, as data.

Each `ResourceType` says what discovery publishes about a resource (group, version, kind,
plural, short names, verbs, subresources) and how it is stored. Discovery documents, URL
routing, the OpenAPI document and Table printing are all computed from this one table, so a
resource is added here and nowhere else. Its schema (decoding, patches, apply, OpenAPI) is
upstream's definition of the same group, version and kind (`nodelab.kube.schema`).

Custom resources (`apiextensions/`) are `ResourceType`s too, made from an Established
CustomResourceDefinition: their `custom` says which definition and version, and carries the
schema built from its `openAPIV3Schema`; `Catalog.lookup` finds them beside this table.

`events` exists in two groups (core/v1 and events.k8s.io/v1) over one storage, as upstream:
the events.k8s.io form is converted to and from the stored core form (see `events.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodelab.kube import schema as kube_schema

ALL_VERBS = (
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch",
)
CLUSTER_VERBS = ALL_VERBS


@dataclass(frozen=True)
class CustomResource:
    """What a custom resource type serves from its CustomResourceDefinition (`crd`, as
    stored) at `version`; `schema` is the version's schema as a `kube.schema.Node`."""

    crd: dict[str, Any]
    version: str
    schema: kube_schema.Node

    @property
    def name(self) -> str:
        return str(self.crd["metadata"]["name"])

    @property
    def served_version(self) -> dict[str, Any]:
        return next(v for v in self.crd["spec"]["versions"] if v.get("name") == self.version)


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    storage: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    custom: CustomResource | None = field(default=None, compare=False)
    singular_name: str = ""
    # a built-in API upstream marks deprecated: the warning every answer about it carries
    # (the apiserver's deprecation.WarningMessage, e.g. for core/v1 Endpoints since 1.33)
    deprecated: str = ""

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> str:
        return self.storage or f"{self.group or 'core'}/{self.plural}"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def schema(self) -> kube_schema.Node:
        """Upstream's schema of this kind (every served kind has one); a custom resource's
        from its definition."""
        if self.custom is not None:
            return self.custom.schema
        node = kube_schema.for_kind(self.group, self.version, self.kind)
        if node is None:
            raise LookupError(f"upstream's {kube_schema.KUBERNETES_VERSION} schema has no "
                              f"{self.group_version} {self.kind}")
        return node


def _core(kind: str, plural: str, namespaced: bool = True, **kw: object) -> ResourceType:
    return ResourceType("", "v1", kind, plural, namespaced, **kw)  # type: ignore[arg-type]


RESOURCES: tuple[ResourceType, ...] = (
    _core("Namespace", "namespaces", False, short_names=("ns",), subresources=("status",),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _core("Node", "nodes", False, short_names=("no",), subresources=("status", "proxy")),
    _core("Pod", "pods", short_names=("po",), categories=("all",),
          subresources=("status", "binding", "eviction", "log", "exec", "attach",
                        "portforward", "ephemeralcontainers")),
    _core("Service", "services", short_names=("svc",), categories=("all",),
          subresources=("status",),
          verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update",
                 "watch")),
    _core("Endpoints", "endpoints", short_names=("ep",),
          deprecated="v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 "
          "EndpointSlice"),
    _core("ReplicationController", "replicationcontrollers", short_names=("rc",),
          categories=("all",), subresources=("status", "scale")),
    _core("Binding", "bindings", verbs=("create",)),
    ResourceType("", "v1", "Event", "events", True, short_names=("ev",)),
    _core("ConfigMap", "configmaps", short_names=("cm",)),
    _core("Secret", "secrets"),
    _core("PersistentVolume", "persistentvolumes", False, short_names=("pv",),
          subresources=("status",)),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
          subresources=("status",)),
    _core("ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
    _core("LimitRange", "limitranges", short_names=("limits",)),
    _core("ResourceQuota", "resourcequotas", short_names=("quota",), subresources=("status",)),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", True),
    ResourceType("events.k8s.io", "v1", "Event", "events", True,
                 storage="core/events"),
    ResourceType("apps", "v1", "Deployment", "deployments", True, short_names=("deploy",),
                 categories=("all",), subresources=("status", "scale")),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, short_names=("rs",),
                 categories=("all",), subresources=("status", "scale")),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, short_names=("ds",),
                 categories=("all",), subresources=("status",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", True, short_names=("sts",),
                 categories=("all",), subresources=("status", "scale")),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", True),
    ResourceType("batch", "v1", "Job", "jobs", True, categories=("all",),
                 subresources=("status",)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, short_names=("cj",),
                 categories=("all",), subresources=("status",)),
    ResourceType("certificates.k8s.io", "v1", "CertificateSigningRequest",
                 "certificatesigningrequests", False, short_names=("csr",),
                 subresources=("status", "approval")),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
                 False, verbs=("create",)),
    ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False,
                 verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview",
                 "selfsubjectaccessreviews", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview",
                 "selfsubjectrulesreviews", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview",
                 "subjectaccessreviews", False, verbs=("create",)),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True,
                 short_names=("pdb",), subresources=("status",)),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True,
                 short_names=("netpol",)),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True,
                 short_names=("ing",), subresources=("status",)),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False,
                 short_names=("pc",)),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", False,
                 short_names=("sc",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
                 "clusterrolebindings", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 True, short_names=("hpa",), categories=("all",), subresources=("status",)),
    ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", False,
                 categories=("api-extensions",), subresources=("status",)),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                 "customresourcedefinitions", False, short_names=("crd", "crds"),
                 categories=("api-extensions",), subresources=("status",)),
)

GROUPS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys((r.group, r.version) for r in RESOURCES if r.group)
)


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    for resource in RESOURCES:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource
    return None


def by_kind(group: str, kind: str) -> ResourceType | None:
    for resource in RESOURCES:
        if (resource.group, resource.kind) == (group, kind):
            return resource
    return None
