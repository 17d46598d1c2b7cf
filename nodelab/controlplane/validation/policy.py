"""PodDisruptionBudget validation (policy/v1), as upstream's pkg/apis/policy/validation:

- `minAvailable` and `maxUnavailable` may not both be set; each is a non-negative int or a
  percent string of at most 100% (`ValidatePositiveIntOrPercent`, `IsNotMoreThan100Percent`);
  neither is required (policy/v1 has no defaulting: a budget without either allows every
  disruption its controller counts);
- the selector is a valid label selector (a missing one selects no pod, `{}` every pod of the
  namespace, as policy/v1 reads them);
- `unhealthyPodEvictionPolicy` is `IfHealthyBudget` or `AlwaysAllow`;
- the status counters (`disruptionsAllowed`, `currentHealthy`, `desiredHealthy`,
  `expectedPods`) may not be negative (`ValidatePodDisruptionBudgetStatusUpdate`, v1 only).

The spec may change after create (since Kubernetes 1.15): the generation moves on and the
eviction API refuses evictions until the disruption controller has seen it.
"""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.label_selectors import label_selector
from nodelab.kube.objects import Object

UNHEALTHY_POD_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]
STATUS_COUNTERS = ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")


def validate_pdb(errors: FieldErrors, obj: Object, old: Object | None) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errors.invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set")
    for key in ("minAvailable", "maxUnavailable"):
        if spec.get(key) is not None:
            errors.int_or_percent(f"spec.{key}", spec[key])
            errors.not_over_100_percent(f"spec.{key}", spec[key])
    label_selector(errors, "spec.selector", spec.get("selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errors.unsupported("spec.unhealthyPodEvictionPolicy", policy,
                           UNHEALTHY_POD_EVICTION_POLICIES)
    if old is not None:
        status = obj.get("status")
        if isinstance(status, dict):
            for key in STATUS_COUNTERS:
                errors.non_negative(f"status.{key}", status.get(key))
