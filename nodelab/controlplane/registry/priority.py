"""PriorityClasses and the `Priority` admission plugin (upstream's
plugin/pkg/admission/priority and pkg/apis/scheduling).

- The API server keeps the two system classes, `system-node-critical` (2000001000) and
  `system-cluster-critical` (2000000000), as kube-apiserver's post-start hook does.
- A new pod gets `spec.priority` (and `spec.preemptionPolicy`) from its `priorityClassName`;
  without one, from the class marked `globalDefault` (the lowest, if a race made two), whose
  name it then carries; with neither, priority 0 and `PreemptLowerPriority`. A class that does
  not exist, or a `priority`/`preemptionPolicy` in the pod that differs from the class's, is a
  403 with upstream's words.
- A PriorityClass marked `globalDefault` while another one is, is a 403.

Pure functions over the stored classes; `rest.py` calls them on create.
"""

from __future__ import annotations

from collections.abc import Sequence

from nodelab.controlplane import errors
from nodelab.controlplane.validation.priorityclasses import DEFAULT_POLICY
from nodelab.kube.objects import Object

STORAGE_KEY = "scheduling.k8s.io/priorityclasses"

def default_class(classes: Sequence[Object]) -> Object | None:
    marked = [c for c in classes if c.get("globalDefault")]
    return min(marked, key=lambda c: int(c.get("value") or 0)) if marked else None


def _forbidden(pod: Object, why: str) -> errors.ApiError:
    name = str((pod.get("metadata") or {}).get("name") or "")
    return errors.ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {why}',
                           {"name": name, "kind": "pods"})


def admit_pod(pod: Object, classes: Sequence[Object]) -> None:
    """Fill a new pod's priority from its class (upstream's admitPod on Create)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    name = spec.get("priorityClassName") or ""
    if not name:
        found = default_class(classes)
        if found is not None:
            spec["priorityClassName"] = found["metadata"]["name"]
        value = int(found.get("value") or 0) if found is not None else 0
        policy = (found.get("preemptionPolicy") if found is not None else None) or DEFAULT_POLICY
    else:
        found = next((c for c in classes if c["metadata"]["name"] == name), None)
        if found is None:
            raise _forbidden(pod, f"no PriorityClass with name {name} was found")
        value = int(found.get("value") or 0)
        policy = found.get("preemptionPolicy") or DEFAULT_POLICY
    if spec.get("priority") is not None and spec["priority"] != value:
        raise _forbidden(pod, f"the integer value of priority ({spec['priority']}) must not be "
                              f"provided in pod spec; priority admission controller computed "
                              f"{value} from the given PriorityClass name")
    spec["priority"] = value
    if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
        raise _forbidden(pod, f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) "
                              f"must not be provided in pod spec; priority admission controller "
                              f"computed {policy} from the given PriorityClass name")
    spec["preemptionPolicy"] = policy


def admit_class(pc: Object, classes: Sequence[Object], creating: bool) -> None:
    """Only one PriorityClass may be the global default (upstream's validatePriorityClass)."""
    if not pc.get("globalDefault"):
        return
    found = default_class(classes)
    name = pc["metadata"]["name"]
    if found is not None and (creating or found["metadata"]["name"] != name):
        raise errors.ApiError(
            403, "Forbidden", f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
            f"PriorityClass {found['metadata']['name']} is already marked as default. Only one "
            "default can exist", {"name": name, "group": "scheduling.k8s.io",
                                  "kind": "priorityclasses"})
