"""What every pod-template controller's spec (Deployment, ReplicaSet, DaemonSet, StatefulSet,
Job) validates alike: a selector that matches the template's labels, the template's pod spec
and the restart policies the controller allows (upstream's ValidatePodTemplateSpecForReplicaSet
and the selector checks of pkg/apis/apps/validation and pkg/apis/batch/validation).
"""

from __future__ import annotations

from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.controlplane.validation.pods import validate_pod_spec
from nodelab.kube.label_selectors import selector_matches
from nodelab.kube.objects import Object


def validate_selector_and_template(errors: FieldErrors, spec: Object, path: str,
                                   restart_policies: list[str],
                                   selector_required: bool = True,
                                   empty_selector: str = "") -> Object | None:
    """The checks every pod-template controller shares; the template's pod spec, if any.
    `empty_selector`: what to say, beside `Required`, of a selector that is `{}`."""
    selector = spec.get("selector")
    template: Object = spec["template"] if isinstance(spec.get("template"), dict) else {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is None and not selector_required:
        pass
    elif not isinstance(selector, dict) or not (selector.get("matchLabels")
                                                or selector.get("matchExpressions")):
        errors.required(f"{path}.selector")
        if isinstance(selector, dict) and empty_selector:
            errors.invalid(f"{path}.selector", selector, empty_selector)
    else:
        errors.labels(f"{path}.selector.matchLabels", selector.get("matchLabels"))
        if not selector_matches(selector, labels):
            errors.invalid(f"{path}.template.metadata.labels", labels,
                           "`selector` does not match template `labels`")
    errors.labels(f"{path}.template.metadata.labels", labels)
    if not template:
        errors.required(f"{path}.template")
        return None
    pod_spec = template.get("spec")
    validate_pod_spec(errors, pod_spec, f"{path}.template.spec")
    if not isinstance(pod_spec, dict):
        return None
    if pod_spec.get("restartPolicy") not in restart_policies:
        errors.unsupported(f"{path}.template.spec.restartPolicy", pod_spec.get("restartPolicy"),
                           restart_policies)
    return pod_spec
