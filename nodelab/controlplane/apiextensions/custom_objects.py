"""A custom object's way into storage (upstream's `customresource` strategy and validator).

- decode: unknown fields pruned (`pruning.prune`) and reported per `fieldValidation`;
  defaults applied (`pruning.apply_defaults`);
- create: `metadata.generation` is 1; with the status subresource the `status` sent is
  dropped (only `/status` writes it);
- update: with the status subresource the main resource keeps the stored status and
  `/status` changes nothing but the status; the generation goes up when anything but
  `metadata` and `status` changed;
- validate: the version's schema (`schema_checks`), every cause at once (422);
- strategic merge patch: refused with 415 as upstream (a custom resource has no patch
  strategy metadata): merge patch, JSON patch and server-side apply work;
- a version marked `deprecated` adds its `deprecationWarning` (or upstream's default text) as
  a `Warning` to every answer;
- while its CRD is being deleted, a custom resource cannot be created (405, upstream's
  text).
"""

from __future__ import annotations

import copy
from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import pruning, schema_checks, selectable
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.resources import ResourceType
from nodelab.kube.objects import Object

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/apply-patch+yaml")


def version_schema(rt: ResourceType) -> dict[str, Any]:
    assert rt.custom is not None
    schema = (rt.custom.served_version.get("schema") or {}).get("openAPIV3Schema") or {}
    return dict(schema)


def decode(rt: ResourceType, body: Object) -> list[str]:
    """Prune and default `body` in place; the paths of the fields pruned."""
    schema = version_schema(rt)
    dropped = pruning.prune(schema, body)
    pruning.apply_defaults(schema, body)
    return dropped


def selectable_fields(rt: ResourceType) -> tuple[str, ...]:
    """The field selector labels of the served version's `selectableFields` (none for a
    built-in kind)."""
    return selectable.selectable(rt.custom.served_version) if rt.custom is not None else ()


def has_status(rt: ResourceType) -> bool:
    return "status" in rt.subresources


def prepare_for_create(rt: ResourceType, obj: Object) -> None:
    obj.setdefault("metadata", {})["generation"] = 1
    if has_status(rt):
        obj.pop("status", None)


def prepare_for_update(rt: ResourceType, new: Object, old: Object, subresource: str) -> None:
    if not has_status(rt):
        return
    if subresource == "status":
        status = new.get("status")
        new.clear()
        new.update(copy.deepcopy(old))
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
    elif "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    else:
        new.pop("status", None)


# schema errors after which upstream does not run the CEL rules (`hasBlockingErr`)
BLOCKING = ("FieldValueNotSupported", "FieldValueRequired", "FieldValueTooLong",
            "FieldValueTooMany", "FieldValueTypeInvalid")


def validate(rt: ResourceType, obj: Object, old: Object | None = None,
             warnings: list[str] | None = None) -> list[Cause]:
    """The schema's checks, then its CEL rules (`cel.validator`; not when a schema error
    would make them meaningless, as upstream: one cause says so instead). On an update a
    schema check that fails on a value the update left as it was passes, and a rule that does
    is a warning (ratcheting, `schema_checks`)."""
    schema = version_schema(rt)
    causes = schema_checks.check(schema, obj, old)
    from nodelab.controlplane.apiextensions.cel import validator  # noqa: PLC0415

    if not validator.has_rules(schema):
        return causes
    if any(c.reason in BLOCKING for c in causes):
        return causes + [Cause("<nil>", "FieldValueInvalid", "Invalid value: null: some "
                               "validation rules were not checked because the object was "
                               "invalid; correct the existing errors to complete validation")]
    return causes + validator.validate(schema, obj, old, warnings)


def _scale_paths(rt: ResourceType) -> tuple[list[str], list[str], list[str]]:
    assert rt.custom is not None
    scale = (rt.custom.served_version.get("subresources") or {}).get("scale") or {}
    return tuple(  # type: ignore[return-value]
        [p for p in str(scale.get(key) or "").split(".") if p]
        for key in ("specReplicasPath", "statusReplicasPath", "labelSelectorPath"))


def _at(obj: Any, steps: list[str]) -> Any:
    for step in steps:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def scale_of(rt: ResourceType, obj: Object) -> tuple[int, int, str]:
    """(spec replicas, status replicas, selector) at the CRD's scale paths (0, 0, '' when
    missing), as upstream's scale subresource reads a custom object."""
    spec, status, selector = _scale_paths(rt)
    values = [_at(obj, spec), _at(obj, status)]
    found = _at(obj, selector) if selector else None
    return (*(v if isinstance(v, int) and not isinstance(v, bool) else 0 for v in values),
            found if isinstance(found, str) else "")  # type: ignore[return-value]


def set_replicas(rt: ResourceType, obj: Object, replicas: int) -> None:
    spec, _, _ = _scale_paths(rt)
    target = obj
    for step in spec[:-1]:
        target = target.setdefault(step, {})
    target[spec[-1]] = replicas


def deprecation_warning(rt: ResourceType) -> str:
    """The warning of a deprecated version ('' when it is not)."""
    if rt.custom is None or not rt.custom.served_version.get("deprecated"):
        return ""
    return str(rt.custom.served_version.get("deprecationWarning")
               or f"{rt.group}/{rt.version} {rt.kind} is deprecated")


def refuse_strategic_merge(rt: ResourceType) -> errors.ApiError:
    return errors.ApiError(
        415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
        "accepted media types include: " + ", ".join(PATCH_TYPES))


def refuse_create_while_terminating(rt: ResourceType) -> None:
    assert rt.custom is not None
    if (rt.custom.crd.get("metadata") or {}).get("deletionTimestamp"):
        raise errors.method_not_allowed(
            "create not allowed while custom resource definition is terminating")
