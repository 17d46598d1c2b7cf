"""What an object uses of a quota, and which quota scopes it matches (upstream's
pkg/quota/v1/evaluator/core and pkg/quota/v1/generic).

`evaluator_for(plural, group)` gives the evaluator of a resource: pods (compute resources by
upstream's PodRequests/PodLimits, `pods`, `count/pods`; scopes by activeDeadlineSeconds, QoS
class, priority class, cross-namespace affinity), services (`services`, `services.nodeports`,
`services.loadbalancers`), persistent volume claims (`requests.storage`, per storage class) and,
for any other resource, its object count (`count/<resource>.<group>`, and the legacy names
`configmaps`, `secrets`, `replicationcontrollers`, `resourcequotas`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nodelab.kube.objects import Object, ObjectView
from nodelab.kube.pod.qos import BEST_EFFORT, compute_pod_qos
from nodelab.kube.quota import names
from nodelab.kube.quota.limit_ranges import pod_totals
from nodelab.kube.quota.resource_lists import Quantity, ResourceList, add, parse_list
from nodelab.kubewire.times import parse_time

ONE = Quantity(Decimal(1))
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
LEGACY_COUNT_NAMES = {"configmaps": "configmaps", "secrets": "secrets",
                      "replicationcontrollers": "replicationcontrollers",
                      "resourcequotas": "resourcequotas"}
# the resources a pod quota requires every container to set (the evaluator's validationSet)
POD_VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
                      "limits.memory")
POD_RESOURCES = frozenset({"count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu",
                           "requests.memory", "requests.ephemeral-storage", "limits.cpu",
                           "limits.memory", "limits.ephemeral-storage", "pods"})


def scope_selectors(quota: ObjectView) -> list[dict[str, Any]]:
    """The quota's `scopes` as `Exists` requirements, then its `scopeSelector`'s."""
    spec = quota.get("spec") or {}
    found: list[dict[str, Any]] = [{"scopeName": scope, "operator": "Exists"}
                                   for scope in spec.get("scopes") or []]
    found += [dict(e) for e in (spec.get("scopeSelector") or {}).get("matchExpressions") or []
              if isinstance(e, dict)]
    return found


def _label_match(selector: ObjectView, key: str, value: str) -> bool:
    """A scope selector requirement as a label selector over `{key: value}`, a set with no
    key when `value` is empty (upstream's podMatchesSelector)."""
    operator, values = selector.get("operator"), list(selector.get("values") or [])
    if operator == "In":
        return bool(value) and value in values
    if operator == "NotIn":
        return not value or value not in values
    if operator == "Exists":
        return bool(value)
    return not value  # DoesNotExist


@dataclass(frozen=True)
class Evaluator:
    """The quota evaluator of one group/resource."""

    plural: str
    group: str = ""

    @property
    def count_name(self) -> str:
        return names.object_count_name(self.plural, self.group)

    def handles(self, operation: str, subresource: str, obj: ObjectView | None = None,
                old: ObjectView | None = None) -> bool:
        """Which requests can change usage: creates; updates of services and claims, and of
        a pod whose Terminating scope changes (activeDeadlineSeconds set or cleared)."""
        if subresource:
            return False
        if (self.plural, self.group) in (("services", ""), ("persistentvolumeclaims", "")):
            return operation in ("CREATE", "UPDATE")
        if (self.plural, self.group) == ("pods", "") and operation == "UPDATE" and (
                obj is not None and old is not None):
            return _terminating(obj.get("spec") or {}) != _terminating(old.get("spec") or {})
        return operation == "CREATE"

    def matching_resources(self, resources: list[str]) -> list[str]:
        return [name for name in resources if self._tracks(name)]

    def _tracks(self, name: str) -> bool:
        if self.group == "" and self.plural == "pods":
            return (name in POD_RESOURCES or names.is_quota_hugepages(name)
                    or (not names.is_native(name) and name.startswith(names.REQUESTS_PREFIX)))
        if self.group == "" and self.plural == "services":
            return name in ("services", "count/services", "services.nodeports",
                            "services.loadbalancers")
        if self.group == "" and self.plural == "persistentvolumeclaims":
            return (name in ("persistentvolumeclaims", "count/persistentvolumeclaims",
                             "requests.storage")
                    or (STORAGE_CLASS_SUFFIX in name and name.endswith(
                        ("/requests.storage", "/persistentvolumeclaims"))))
        legacy = LEGACY_COUNT_NAMES.get(self.plural) if self.group == "" else None
        return name == self.count_name or (legacy is not None and name == legacy)

    def matches_scope(self, selector: ObjectView, obj: ObjectView) -> bool:
        scope = str(selector.get("scopeName") or "")
        if self.group == "" and self.plural == "pods":
            return pod_matches_scope(scope, selector, obj)
        if self.group == "" and self.plural == "persistentvolumeclaims" and (
                scope == names.VOLUME_ATTRIBUTES_CLASS):
            value = str((obj.get("spec") or {}).get("volumeAttributesClassName") or "")
            if selector.get("operator") == "Exists":
                return bool(value)
            return _label_match(selector, scope, value)
        return True

    def matches(self, quota: ObjectView, obj: ObjectView) -> bool:
        """upstream's generic Matches: the quota limits one of this resource's names and the
        object is within every scope of it."""
        hard = list(((quota.get("status") or {}).get("hard") or {}).keys())
        if not self.matching_resources(hard):
            return False
        return all(self.matches_scope(s, obj) for s in scope_selectors(quota))

    def usage(self, obj: ObjectView, now: dt.datetime | None = None) -> ResourceList:
        if self.group == "" and self.plural == "pods":
            return pod_usage(obj, now)
        if self.group == "" and self.plural == "services":
            return service_usage(obj)
        if self.group == "" and self.plural == "persistentvolumeclaims":
            return claim_usage(obj)
        result = {self.count_name: ONE}
        legacy = LEGACY_COUNT_NAMES.get(self.plural) if self.group == "" else None
        if legacy:
            result[legacy] = ONE
        return result

    def constraints(self, required: list[str], obj: ObjectView) -> str | None:
        """What the object lacks for the quota to count it (pods: each container must set
        the cpu and memory a quota limits), as upstream's text, or None."""
        if not (self.group == "" and self.plural == "pods"):
            return None
        wanted = [name for name in POD_VALIDATION_SET if name in required]
        missing: dict[str, set[str]] = {}
        spec = obj.get("spec") or {}
        for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            resources = container.get("resources") or {}
            has = compute_usage(parse_list(resources.get("requests")),
                                parse_list(resources.get("limits")))
            for name in wanted:
                if name not in has:
                    missing.setdefault(name, set()).add(str(container.get("name") or ""))
        if not missing:
            return None
        return "must specify " + "; ".join(
            f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing))


def evaluator_for(plural: str, group: str) -> Evaluator:
    return Evaluator(plural, group)


def compute_usage(requests: ResourceList, limits: ResourceList) -> ResourceList:
    """upstream's podComputeUsageHelper: the quota names a pod's requests and limits fill."""
    result: ResourceList = {"pods": ONE}
    for resource in names.COMPUTE:
        if resource in requests:
            result[resource] = requests[resource]
            result[f"requests.{resource}"] = requests[resource]
        if resource in limits:
            result[f"limits.{resource}"] = limits[resource]
    for resource, request in requests.items():
        if names.is_hugepages(resource):
            result[resource] = request
            result[names.REQUESTS_PREFIX + resource] = request
        if names.is_extended(resource):
            result[names.REQUESTS_PREFIX + resource] = request
    return result


def pod_is_live(pod: ObjectView, now: dt.datetime | None = None) -> bool:
    """upstream's QuotaV1Pod: a pod in a terminal phase, or deleted and past its grace period,
    no longer counts against compute quota."""
    if (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
        return False
    meta = pod.get("metadata") or {}
    deleted = parse_time(meta.get("deletionTimestamp"))
    grace = meta.get("deletionGracePeriodSeconds")
    if deleted is not None and isinstance(grace, int):
        when = now or dt.datetime.now(dt.timezone.utc)
        if when > deleted + dt.timedelta(seconds=grace):
            return False
    return True


def pod_usage(pod: ObjectView, now: dt.datetime | None = None) -> ResourceList:
    """upstream's PodUsageFunc: `count/pods` always; compute resources and `pods` while live."""
    result: ResourceList = {"count/pods": ONE}
    if not pod_is_live(pod, now):
        return result
    spec = pod.get("spec") or {}
    as_object: Object = {"spec": spec}
    requests = pod_totals(as_object, "requests")
    limits = pod_totals(as_object, "limits")
    overhead = parse_list(spec.get("overhead"))
    if overhead:
        requests = add(requests, overhead)
        limits = add(limits, {k: v for k, v in overhead.items() if k in limits})
    return add(result, compute_usage(requests, limits))


def pod_matches_scope(scope: str, selector: ObjectView, pod: ObjectView) -> bool:
    spec = pod.get("spec") or {}
    if scope == names.TERMINATING:
        return _terminating(spec)
    if scope == names.NOT_TERMINATING:
        return not _terminating(spec)
    if scope == names.BEST_EFFORT:
        return compute_pod_qos(spec) == BEST_EFFORT
    if scope == names.NOT_BEST_EFFORT:
        return compute_pod_qos(spec) != BEST_EFFORT
    if scope == names.PRIORITY_CLASS:
        value = str(spec.get("priorityClassName") or "")
        if selector.get("operator") == "Exists":
            return bool(value)
        return _label_match(selector, scope, value)
    if scope == names.CROSS_NAMESPACE_POD_AFFINITY:
        return _cross_namespace_affinity(spec)
    return False


def _terminating(spec: ObjectView) -> bool:
    deadline = spec.get("activeDeadlineSeconds")
    return isinstance(deadline, int) and deadline >= 0


def _cross_namespace_affinity(spec: ObjectView) -> bool:
    affinity = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        section = affinity.get(kind) or {}
        terms = list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [w.get("podAffinityTerm") or {} for w in
                  section.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        if any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms):
            return True
    return False


def service_usage(service: ObjectView) -> ResourceList:
    spec = service.get("spec") or {}
    ports = len(spec.get("ports") or [])
    result: ResourceList = {"count/services": ONE, "services": ONE,
                            "services.loadbalancers": Quantity(Decimal(0)),
                            "services.nodeports": Quantity(Decimal(0))}
    if spec.get("type") == "NodePort":
        result["services.nodeports"] = Quantity(Decimal(ports))
    elif spec.get("type") == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            ports = sum(1 for p in spec.get("ports") or [] if p.get("nodePort"))
        result["services.nodeports"] = Quantity(Decimal(ports))
        result["services.loadbalancers"] = ONE
    return result


def claim_usage(claim: ObjectView) -> ResourceList:
    spec = claim.get("spec") or {}
    result: ResourceList = {"persistentvolumeclaims": ONE, "count/persistentvolumeclaims": ONE}
    storage_class = str(spec.get("storageClassName") or (claim.get("metadata") or {}).get(
        "annotations", {}).get("volume.beta.kubernetes.io/storage-class") or "")
    if storage_class:
        result[storage_class + STORAGE_CLASS_SUFFIX + "persistentvolumeclaims"] = ONE
    requested = parse_list((spec.get("resources") or {}).get("requests")).get("storage")
    allocated = parse_list((claim.get("status") or {}).get("allocatedResources")).get("storage")
    if allocated is not None and (requested is None or allocated.value > requested.value):
        requested = allocated
    if requested is not None:
        result["requests.storage"] = requested
        if storage_class:
            result[storage_class + STORAGE_CLASS_SUFFIX + "requests.storage"] = requested
    return result
