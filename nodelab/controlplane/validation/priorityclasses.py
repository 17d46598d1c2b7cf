"""PriorityClass validation (upstream's pkg/apis/scheduling/validation) and the system classes.

Names starting with `system-` are reserved for the two system classes with their own values;
any other class may not go above 1000000000 (HighestUserDefinablePriority); `value` and
`preemptionPolicy` never change once created.
"""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object

SYSTEM_PREFIX = "system-"
HIGHEST_USER_DEFINABLE = 1_000_000_000
DEFAULT_POLICY = "PreemptLowerPriority"
POLICIES = ["Never", "PreemptLowerPriority"]
SYSTEM_CLASSES: tuple[Object, ...] = (
    {"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000,
     "description": "Used for system critical pods that must not be moved from their current "
                    "node."},
    {"metadata": {"name": "system-cluster-critical"}, "value": 2_000_000_000,
     "description": "Used for system critical pods that must run in the cluster, but can be "
                    "moved to another node if necessary."},
)


def known_system_class_problem(name: str, value: object, global_default: bool) -> str:
    """Upstream's IsKnownSystemPriorityClass: "" when `name` is a system class as defined."""
    for known in SYSTEM_CLASSES:
        if known["metadata"]["name"] == name:
            if known["value"] != value:
                return f"value of {name} PriorityClass must be {known['value']}"
            if global_default:
                return f"globalDefault of {name} PriorityClass must be false"
            return ""
    return f"{name} is not a known system priority class"


def validate_priorityclass(errors: FieldErrors, pc: Object, old: Object | None = None) -> None:
    name = str((pc.get("metadata") or {}).get("name") or "")
    value = pc.get("value", 0)
    if not isinstance(value, int) or isinstance(value, bool):
        errors.invalid("value", value, "must be an integer")
    elif name.startswith(SYSTEM_PREFIX):
        problem = known_system_class_problem(name, value, bool(pc.get("globalDefault")))
        if problem:
            errors.forbidden("metadata.name", f"priority class names with '{SYSTEM_PREFIX}' "
                             f"prefix are reserved for system use only. error: {problem}")
    elif value > HIGHEST_USER_DEFINABLE:
        errors.forbidden("value", "maximum allowed value of a user defined priority is "
                         f"{HIGHEST_USER_DEFINABLE}")
    policy = pc.get("preemptionPolicy")
    if policy not in POLICIES:
        errors.unsupported("preemptionPolicy", policy, POLICIES)
    if old is None:
        return
    if value != old.get("value", 0):
        errors.forbidden("value", "may not be changed in an update.")
    if policy != old.get("preemptionPolicy"):
        errors.invalid("preemptionPolicy", policy, "field is immutable")
