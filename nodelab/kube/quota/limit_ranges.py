"""The LimitRanger admission plugin's decisions (plugin/pkg/admission/limitranger), as pure
functions of a LimitRange and the object admitted.

- `default_pod(limit_range, pod)`: a new pod's containers and init containers get the
  `Container` item's `defaultRequest` and `default` for what they do not set, and the pod the
  annotation `kubernetes.io/limit-ranger: LimitRanger plugin set: cpu, memory request for
  container app; ...` (upstream's MutateLimit);
- `pod_problems(limit_range, pod)` and `claim_problems(limit_range, claim)`: the `min`, `max`
  and `maxLimitRequestRatio` of each item broken, with upstream's texts (`maximum memory usage
  per Container is 1Gi, but limit is 1536Mi`); the `Pod` item is checked against the pod's
  requests and limits summed as upstream's (sidecars run alongside, init containers one at a
  time).
- `aggregate(problems)`: upstream's `utilerrors.NewAggregate(...).Error()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from nodelab.kube.objects import Object
from nodelab.kube.quota.resource_lists import Quantity, ResourceList, add, parse_list

ANNOTATION = "kubernetes.io/limit-ranger"
MAX_MILLI = Decimal(2**63 - 1) / 1000  # resource.MaxMilliValue, in units


def _items(limit_range: Object) -> list[Object]:
    return [item for item in (limit_range.get("spec") or {}).get("limits") or []
            if isinstance(item, dict)]


def _containers(pod: Object) -> list[tuple[str, Object]]:
    spec = pod.get("spec") or {}
    return [*(("container", c) for c in spec.get("containers") or [] if isinstance(c, dict)),
            *(("init container", c) for c in spec.get("initContainers") or []
              if isinstance(c, dict))]


def default_requirements(limit_range: Object) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (requests, limits) a container gets by default: the `Container` items'
    `defaultRequest` and `default`."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(limit_range):
        if item.get("type") == "Container":
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    return requests, limits


def default_pod(limit_range: Object, pod: Object) -> bool:
    """Fill in the container defaults; whether anything was set."""
    requests, limits = default_requirements(limit_range)
    notes: list[str] = []
    for what, container in _containers(pod):
        resources = container.get("resources")
        if resources is None:
            resources = {}
        if not isinstance(resources, dict):
            continue  # validation names the malformed field
        set_requests = _fill(resources, "requests", requests)
        set_limits = _fill(resources, "limits", limits)
        if resources:
            container["resources"] = resources
        name = container.get("name", "")
        if set_requests:
            notes.append(f"{', '.join(sorted(set_requests))} request for {what} {name}")
        if set_limits:
            notes.append(f"{', '.join(sorted(set_limits))} limit for {what} {name}")
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
    return bool(notes)


def _fill(resources: Object, key: str, defaults: dict[str, Any]) -> list[str]:
    if not defaults:
        return []
    current = resources.get(key)
    if not isinstance(current, dict):
        if current is not None:
            return []
        current = {}
    filled = [name for name in defaults if name not in current]
    for name in filled:
        current[name] = defaults[name]
    if current:
        resources[key] = current
    return filled


def _comparable(*quantities: Quantity) -> list[Decimal]:
    """upstream's requestLimitEnforcedValues: milli-units (rounded up) when no value would
    overflow them, whole units (rounded up) otherwise."""
    if all(q.value <= MAX_MILLI for q in quantities):
        return [(q.value * 1000).to_integral_value(rounding="ROUND_CEILING") for q in quantities]
    return [q.value.to_integral_value(rounding="ROUND_CEILING") for q in quantities]


def min_problem(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                limits: ResourceList) -> str | None:
    request, limit = requests.get(name), limits.get(name)
    zero = Quantity(Decimal(0))
    req, lim, bound = _comparable(request or zero, limit or zero, enforced)
    if request is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if req < bound:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {request}"
    if limit is not None and lim < bound:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {limit}"
    return None


def max_problem(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                limits: ResourceList) -> str | None:
    request, limit = requests.get(name), limits.get(name)
    zero = Quantity(Decimal(0))
    req, lim, bound = _comparable(request or zero, limit or zero, enforced)
    if limit is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lim > bound:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {limit}"
    if request is not None and req > bound:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {request}"
    return None


def max_request_problem(kind: str, name: str, enforced: Quantity,
                        requests: ResourceList) -> str | None:
    """A claim's `max`: only its request is compared (maxRequestConstraint)."""
    request = requests.get(name)
    req, _, bound = _comparable(request or Quantity(Decimal(0)), Quantity(Decimal(0)), enforced)
    if request is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if req > bound:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {request}"
    return None


def ratio_problem(kind: str, name: str, enforced: Quantity, requests: ResourceList,
                  limits: ResourceList) -> str | None:
    request, limit = requests.get(name), limits.get(name)
    zero = Quantity(Decimal(0))
    req, lim, _ = _comparable(request or zero, limit or zero, enforced)
    if request is None or req == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no request "
                "is specified or request is 0")
    if limit is None or lim == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but no limit is "
                "specified or limit is 0")
    observed = float(lim) / float(req)
    whole = enforced.value.to_integral_value(rounding="ROUND_CEILING")
    if whole <= MAX_MILLI:
        ratio, bound = observed * 1000, float((enforced.value * 1000).to_integral_value(
            rounding="ROUND_CEILING"))
    else:
        ratio, bound = observed, float(whole)
    if ratio > bound:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, but provided "
                f"ratio is {observed:f}")
    return None


def _check(item: Object, kind: str, requests: ResourceList, limits: ResourceList) -> list[str]:
    found = []
    for name, enforced in parse_list(item.get("min")).items():
        found.append(min_problem(kind, name, enforced, requests, limits))
    for name, enforced in parse_list(item.get("max")).items():
        found.append(max_problem(kind, name, enforced, requests, limits))
    for name, enforced in parse_list(item.get("maxLimitRequestRatio")).items():
        found.append(ratio_problem(kind, name, enforced, requests, limits))
    return [problem for problem in found if problem is not None]


def _own(container: Object, key: str) -> ResourceList:
    resources = container.get("resources") or {}
    return parse_list(resources.get(key) if isinstance(resources, dict) else None)


def pod_totals(pod: Object, key: str) -> ResourceList:
    """The pod's requests or limits (`key`) as upstream's limitranger podRequests/podLimits:
    app containers and sidecars summed, each plain init container (with the sidecars started
    before it) taken when larger."""
    spec = pod.get("spec") or {}
    total: ResourceList = {}
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            total = add(total, _own(container, key))
    sidecars: ResourceList = {}
    init_max: ResourceList = {}
    for container in spec.get("initContainers") or []:
        if not isinstance(container, dict):
            continue
        own = _own(container, key)
        if container.get("restartPolicy") == "Always":
            total = add(total, own)
            sidecars = add(sidecars, own)
            running = dict(sidecars)
        else:
            running = add(own, sidecars)
        init_max = _max(init_max, running)
    return _max(total, init_max)


def _max(a: ResourceList, b: ResourceList) -> ResourceList:
    result = dict(a)
    for name, quantity in b.items():
        if name not in result or quantity.value > result[name].value:
            result[name] = quantity
    return result


def pod_problems(limit_range: Object, pod: Object) -> list[str]:
    problems: list[str] = []
    for item in _items(limit_range):
        if item.get("type") == "Container":
            for _, container in _containers(pod):
                problems += _check(item, "Container", _own(container, "requests"),
                                   _own(container, "limits"))
        elif item.get("type") == "Pod":
            problems += _check(item, "Pod", pod_totals(pod, "requests"),
                               pod_totals(pod, "limits"))
    return problems


def claim_problems(limit_range: Object, claim: Object) -> list[str]:
    """A PersistentVolumeClaim's `spec.resources.requests` against the `PersistentVolumeClaim`
    items (its limits are not user input: min is checked without them, max on the request)."""
    resources = (claim.get("spec") or {}).get("resources") or {}
    requests = parse_list(resources.get("requests") if isinstance(resources, dict) else None)
    problems: list[str] = []
    for item in _items(limit_range):
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, enforced in parse_list(item.get("min")).items():
            found = min_problem("PersistentVolumeClaim", name, enforced, requests, {})
            if found:
                problems.append(found)
        for name, enforced in parse_list(item.get("max")).items():
            found = max_request_problem("PersistentVolumeClaim", name, enforced, requests)
            if found:
                problems.append(found)
    return problems


def aggregate(problems: Iterable[str]) -> str:
    """upstream's aggregate error text: one message alone, several in brackets, repeats once."""
    unique = list(dict.fromkeys(problems))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]"
