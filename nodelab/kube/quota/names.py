"""Which resource names, limit types and quota scopes are standard (upstream's
pkg/apis/core/helper `IsStandard*` sets), for validation and the evaluators alike."""

from __future__ import annotations

HUGEPAGES_PREFIX = "hugepages-"
REQUESTS_PREFIX = "requests."
REQUESTS_HUGEPAGES_PREFIX = "requests.hugepages-"

COMPUTE = ("cpu", "memory", "ephemeral-storage")
# podComputeQuotaResources and podObjectCountQuotaResources: what pod scopes apply to
POD_COMPUTE_QUOTA = frozenset({"cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu",
                               "requests.memory"})
POD_OBJECT_COUNT_QUOTA = frozenset({"pods"})
INTEGER_RESOURCES = frozenset({"pods", "resourcequotas", "services", "replicationcontrollers",
                               "secrets", "configmaps", "persistentvolumeclaims",
                               "services.nodeports", "services.loadbalancers"})
STANDARD_QUOTA = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
    *INTEGER_RESOURCES})
STANDARD = frozenset({*STANDARD_QUOTA, "storage"})
STANDARD_CONTAINER = frozenset(COMPUTE)
LIMIT_TYPES = ("Pod", "Container", "PersistentVolumeClaim")

TERMINATING, NOT_TERMINATING = "Terminating", "NotTerminating"
BEST_EFFORT, NOT_BEST_EFFORT = "BestEffort", "NotBestEffort"
PRIORITY_CLASS = "PriorityClass"
CROSS_NAMESPACE_POD_AFFINITY = "CrossNamespacePodAffinity"
VOLUME_ATTRIBUTES_CLASS = "VolumeAttributesClass"
SCOPES = (TERMINATING, NOT_TERMINATING, BEST_EFFORT, NOT_BEST_EFFORT, PRIORITY_CLASS,
          CROSS_NAMESPACE_POD_AFFINITY, VOLUME_ATTRIBUTES_CLASS)
EXISTS_ONLY_SCOPES = (BEST_EFFORT, NOT_BEST_EFFORT, TERMINATING, NOT_TERMINATING,
                      CROSS_NAMESPACE_POD_AFFINITY)
VOLUME_ATTRIBUTES_CLASS_RESOURCES = frozenset({"persistentvolumeclaims", "requests.storage"})


def is_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX)


def is_quota_hugepages(name: str) -> bool:
    return name.startswith(HUGEPAGES_PREFIX) or name.startswith(REQUESTS_HUGEPAGES_PREFIX)


def is_native(name: str) -> bool:
    """upstream's IsNativeResource: no domain, or one under kubernetes.io."""
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    """upstream's IsExtendedResourceName: outside kubernetes.io, not a quota `requests.` name,
    and a valid qualified name once prefixed with `requests.` (checked by validation)."""
    return not is_native(name) and not name.startswith(REQUESTS_PREFIX)


def is_standard(name: str) -> bool:
    return name in STANDARD or is_quota_hugepages(name)


def is_standard_quota(name: str) -> bool:
    return name in STANDARD_QUOTA or is_quota_hugepages(name)


def is_standard_container(name: str) -> bool:
    return name in STANDARD_CONTAINER or is_hugepages(name)


def is_integer(name: str) -> bool:
    return name in INTEGER_RESOURCES or is_extended(name)


def is_overcommit_allowed(name: str) -> bool:
    return is_native(name) and not is_hugepages(name)


def scope_valid_for(scope: str, resource: str) -> bool:
    """upstream's IsResourceQuotaScopeValidForResource."""
    if scope in (TERMINATING, NOT_TERMINATING, NOT_BEST_EFFORT, PRIORITY_CLASS,
                 CROSS_NAMESPACE_POD_AFFINITY):
        return resource in POD_OBJECT_COUNT_QUOTA or resource in POD_COMPUTE_QUOTA
    if scope == BEST_EFFORT:
        return resource in POD_OBJECT_COUNT_QUOTA
    if scope == VOLUME_ATTRIBUTES_CLASS:
        return resource in VOLUME_ATTRIBUTES_CLASS_RESOURCES
    return True


def object_count_name(plural: str, group: str) -> str:
    """`count/<resource>[.<group>]` (upstream's ObjectCountQuotaResourceNameFor)."""
    return f"count/{plural}.{group}" if group else f"count/{plural}"
