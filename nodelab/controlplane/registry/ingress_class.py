"""The `DefaultIngressClass` admission plugin (upstream's
plugin/pkg/admission/network/defaultingressclass): a new Ingress that names no class (neither
`spec.ingressClassName` nor the old `kubernetes.io/ingress.class` annotation) gets the
IngressClass annotated `ingressclass.kubernetes.io/is-default-class: "true"`; with two such
classes the create is a 403, as upstream. A pure function over the stored classes; `rest.py`
calls it on create.
"""

from __future__ import annotations

from collections.abc import Sequence

from nodelab.controlplane import errors
from nodelab.controlplane.validation.networking.ingresses import (
    CLASS_ANNOTATION,
    DEFAULT_CLASS_ANNOTATION,
)
from nodelab.kube.objects import Object

INGRESS_KEY = "networking.k8s.io/ingresses"
CLASS_KEY = "networking.k8s.io/ingressclasses"


def admit_ingress(ingress: Object, classes: Sequence[Object]) -> None:
    spec = ingress.get("spec")
    meta = ingress.get("metadata") or {}
    if not isinstance(spec, dict) or spec.get("ingressClassName") is not None or \
            CLASS_ANNOTATION in (meta.get("annotations") or {}):
        return
    defaults = [c for c in classes if ((c.get("metadata") or {}).get("annotations") or {}).get(
        DEFAULT_CLASS_ANNOTATION) == "true"]
    if len(defaults) > 1:
        name = str(meta.get("name") or "")
        raise errors.ApiError(
            403, "Forbidden", f'ingresses.networking.k8s.io "{name}" is forbidden: Internal '
            f"error occurred: {len(defaults)} default IngressClasses were found, only 1 allowed",
            {"name": name, "group": "networking.k8s.io", "kind": "ingresses"})
    if defaults:
        spec["ingressClassName"] = defaults[0]["metadata"]["name"]
