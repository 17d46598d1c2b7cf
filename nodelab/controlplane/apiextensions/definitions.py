"""A CustomResourceDefinition's way into storage: defaulting, the strategy's create and
update rules, and validation, as upstream's apiextensions `customresourcedefinition`
strategy and `validation.ValidateCustomResourceDefinition` for the parts nodelab serves.

Defaults (v1): `names.singular` is the lower-cased kind, `names.listKind` the kind plus
`List`, `conversion.strategy` is `None`. On create the status is cleared and the storage
version recorded in `status.storedVersions`; an update keeps the status (the `status`
subresource writes it) and records a new storage version. `scope` and `names.kind` may not
change once Established, `group` and `names.plural` never (the name is `<plural>.<group>`).

Refused with a 422 naming the field, "not supported by nodelab": conversion webhooks,
`preserveUnknownFields: true`, CEL rules nodelab cannot run and the
schema keywords `structural.py` lists; a group nodelab serves itself (the schema of its
kinds is upstream's, not a CRD's). A group under `k8s.io` or `kubernetes.io` needs the
`api-approved.kubernetes.io` annotation, as upstream.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from nodelab.controlplane.apiextensions import selectable, structural
from nodelab.controlplane.resources import GROUPS
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object

NOT_SUPPORTED = structural.NOT_SUPPORTED
SCOPES = ["Cluster", "Namespaced"]
COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"]
VERSION_FIELDS = frozenset({"name", "served", "storage", "schema", "subresources",
                            "additionalPrinterColumns", "deprecated", "deprecationWarning",
                            "selectableFields"})
SCALE_FIELDS = ("specReplicasPath", "statusReplicasPath", "labelSelectorPath")


def apply_defaults(crd: Object) -> None:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str) and names["kind"]:
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    conversion = spec.setdefault("conversion", {"strategy": "None"})
    if isinstance(conversion, dict):
        conversion.setdefault("strategy", "None")


def storage_version(crd: Object) -> str:
    for version in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(version, dict) and version.get("storage") is True:
            return str(version.get("name", ""))
    return ""


def prepare_for_create(crd: Object) -> None:
    apply_defaults(crd)
    crd["status"] = {"acceptedNames": {"kind": "", "plural": ""}, "conditions": [],
                     "storedVersions": [v for v in [storage_version(crd)] if v]}


def prepare_for_update(crd: Object, old: Object, subresource: str) -> None:
    """The main resource keeps the stored status; the status subresource keeps the spec."""
    if subresource == "status":
        status = crd.get("status")
        crd.clear()
        crd.update(copy.deepcopy(old))
        crd["status"] = status if isinstance(status, dict) else {}
        return
    apply_defaults(crd)
    crd["status"] = copy.deepcopy(old.get("status") or {})
    stored = crd["status"].setdefault("storedVersions", [])
    version = storage_version(crd)
    if version and version not in stored:
        stored.append(version)


def validate(crd: Object, old: Object | None = None) -> FieldErrors:
    """The CRD's errors, each with upstream's field path and text (metadata is checked by the
    generic object validation; its name rule is here)."""
    errors = FieldErrors()
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        errors.required("spec")
        return errors
    names: Object = spec["names"] if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group")
    name = (crd.get("metadata") or {}).get("name")
    if name and name != f"{names.get('plural', '')}.{group or ''}":
        errors.invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
    _group(errors, group)
    _api_approval(errors, crd, group)
    scope = spec.get("scope")
    if not scope:
        errors.required("spec.scope")
    elif scope not in SCOPES:
        errors.unsupported("spec.scope", scope, SCOPES)
    _versions(errors, spec.get("versions"), _unchanged_schemas(spec, old))
    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            errors.required(f"spec.names.{key}")
    names_errors(errors, names, "spec.names")
    _unsupported(errors, spec)
    accepted = (crd.get("status") or {}).get("acceptedNames")
    if isinstance(accepted, dict):  # ValidateCustomResourceDefinitionStatus
        names_errors(errors, accepted, "status.acceptedNames")
    if old is not None:
        _immutable(errors, spec, old)
        stored = ((crd.get("status") or {}).get("storedVersions")) or []
        listed = {v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)}
        for i, version in enumerate(stored):
            if version not in listed:
                errors.invalid(f"status.storedVersions[{i}]", version,
                               "must appear in spec.versions")
    return errors


def _group(errors: FieldErrors, group: Any) -> None:
    if not group:
        errors.required("spec.group")
        return
    before = len(errors.causes)
    errors.dns1123_subdomain("spec.group", group)
    if len(errors.causes) > before:
        return
    if "." not in group:
        errors.invalid("spec.group", group, "should be a domain with at least one dot")
    elif group in {g for g, _ in GROUPS}:
        errors.invalid("spec.group", group, "is served by the API server itself; a "
                       f"CustomResourceDefinition in it is {NOT_SUPPORTED}")


APPROVAL = "api-approved.kubernetes.io"
APPROVAL_PR = "see https://github.com/kubernetes/enhancements/pull/1111"


def _api_approval(errors: FieldErrors, crd: Object, group: Any) -> None:
    """A group under k8s.io or kubernetes.io is the community's: its CRD says it was approved
    (a URL) or that it was not (`unapproved...`), as upstream's validateAPIApproval."""
    if not isinstance(group, str) or not any(
            group == domain or group.endswith("." + domain)
            for domain in ("k8s.io", "kubernetes.io")):
        return
    path = f"metadata.annotations[{APPROVAL}]"
    value = ((crd.get("metadata") or {}).get("annotations") or {}).get(APPROVAL)
    if value is None:
        errors.required(path, f'protected groups must have approval annotation "{APPROVAL}", '
                        f"{APPROVAL_PR}")
    elif not str(value).startswith(("unapproved", "http://", "https://")):
        errors.invalid(path, value, f'protected groups must have approval annotation '
                       f'"{APPROVAL}" with either a URL or a reason starting with '
                       f'"unapproved", {APPROVAL_PR}')


def names_errors(errors: FieldErrors, names: Object, path: str) -> None:
    """`ValidateCustomResourceDefinitionNames` (spec.names and status.acceptedNames)."""
    for key in ("plural", "singular"):
        if names.get(key):
            errors.dns1035_label(f"{path}.{key}", names[key])
    for key in ("kind", "listKind"):
        value = names.get(key)
        if value:
            probe = FieldErrors()
            probe.dns1035_label("", str(value).lower())
            if probe.causes:
                errors.invalid(f"{path}.{key}", value, "may have mixed case, but should "
                               "otherwise match: " + probe.causes[0].message.split(": ", 2)[-1])
    for i, short in enumerate(names.get("shortNames") or []):
        errors.dns1035_label(f"{path}.shortNames[{i}]", short)
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errors.invalid(f"{path}.listKind", names["listKind"],
                       "kind and listKind may not be the same")
    for i, category in enumerate(names.get("categories") or []):
        errors.dns1035_label(f"{path}.categories[{i}]", category)


def _versions_value(versions: Any) -> str:
    return json.dumps(versions, separators=(",", ":"))


def _unchanged_schemas(spec: Object, old: Object | None) -> set[str]:
    """The versions whose schema an update leaves as it was (upstream's
    `findVersionsWithUnchangedSchemas`): their rules are not held to the per-expression
    cost limit again, so a stored CRD stays updatable."""
    if old is None:
        return set()

    def schemas(of: Any) -> dict[str, Any]:
        versions = of.get("versions") if isinstance(of, dict) else None
        return {str(v.get("name")): v.get("schema") for v in versions or []
                if isinstance(v, dict)}

    before = schemas(old.get("spec"))
    return {name for name, schema in schemas(spec).items()
            if name in before and before[name] == schema}


def _versions(errors: FieldErrors, versions: Any, unchanged: set[str]) -> None:
    if not isinstance(versions, list) or not versions:
        errors.required("spec.versions", "must have exactly one version marked as storage "
                        "version")
        return
    seen: set[str] = set()
    unique = True
    storage = 0
    for i, version in enumerate(versions):
        path = f"spec.versions[{i}]"
        if not isinstance(version, dict):
            errors.invalid(path, version, "must be an object")
            continue
        storage += version.get("storage") is True
        name = version.get("name")
        if name in seen:
            unique = False
        seen.add(str(name))
        errors.dns1035_label(f"{path}.name", name)
        for key in sorted(set(version) - VERSION_FIELDS):
            errors.forbidden(f"{path}.{key}", NOT_SUPPORTED)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            errors.required(f"{path}.schema.openAPIV3Schema", "schemas are required")
        else:
            structural.check(errors, schema, f"{path}.schema.openAPIV3Schema",
                             suppress_expression_cost=name in unchanged)
        if "selectableFields" in version:
            selectable.check(errors, version["selectableFields"], schema,
                             f"{path}.selectableFields")
        warning = version.get("deprecationWarning")
        if warning is not None and not version.get("deprecated"):
            errors.invalid(f"{path}.deprecationWarning", warning,
                           "can only be set for deprecated versions")
        elif isinstance(warning, str) and (len(warning) > 256 or not warning.isprintable()):
            errors.invalid(f"{path}.deprecationWarning", warning,
                           "must be <= 256 characters long and contain only printable "
                           "characters")
        _subresources(errors, version.get("subresources"), f"{path}.subresources")
        _columns(errors, version.get("additionalPrinterColumns"),
                 f"{path}.additionalPrinterColumns")
    if not unique:
        errors.invalid("spec.versions", _versions_value(versions),
                       "must contain unique version names")
    if storage != 1:
        errors.invalid("spec.versions", _versions_value(versions),
                       "must have exactly one version marked as storage version")


def _subresources(errors: FieldErrors, subresources: Any, path: str) -> None:
    if not isinstance(subresources, dict):
        return
    for key in sorted(set(subresources) - {"status", "scale"}):
        errors.forbidden(f"{path}.{key}", NOT_SUPPORTED)
    scale = subresources.get("scale")
    if isinstance(scale, dict):
        for key in ("specReplicasPath", "statusReplicasPath"):
            value = scale.get(key)
            if not value:
                errors.required(f"{path}.scale.{key}")
            elif not _simple_path(value) or not value.startswith(
                    ".spec." if key == "specReplicasPath" else ".status."):
                where = ".spec" if key == "specReplicasPath" else ".status"
                errors.invalid(f"{path}.scale.{key}", value, "should be a json path under "
                               f"{where}")
        selector = scale.get("labelSelectorPath")
        if selector and (not _simple_path(selector) or not selector.startswith(
                (".spec.", ".status."))):
            errors.invalid(f"{path}.scale.labelSelectorPath", selector,
                           "should be a json path under either .spec or .status")


def _simple_path(value: Any) -> bool:
    """A JSON path of field names only (`.spec.replicas`), as upstream requires here."""
    return (isinstance(value, str) and value.startswith(".") and all(
        part and "[" not in part and "*" not in part for part in value[1:].split(".")))


def _columns(errors: FieldErrors, columns: Any, path: str) -> None:
    if columns is None:
        return
    if not isinstance(columns, list):
        errors.invalid(path, columns, "must be a list")
        return
    for i, column in enumerate(columns):
        at = f"{path}[{i}]"
        if not isinstance(column, dict):
            errors.invalid(at, column, "must be an object")
            continue
        if not column.get("name"):
            errors.required(f"{at}.name")
        if not column.get("type"):
            errors.required(f"{at}.type")
        elif column["type"] not in COLUMN_TYPES:
            errors.unsupported(f"{at}.type", column["type"], COLUMN_TYPES)
        fmt = column.get("format")
        if fmt and fmt not in ("int32", "int64", "float", "double", "byte", "date",
                               "date-time", "password"):
            errors.unsupported(f"{at}.format", fmt, ["byte", "date", "date-time", "double",
                                                     "float", "int32", "int64", "password"])
        if not column.get("jsonPath"):
            errors.required(f"{at}.jsonPath")
        elif not _column_path(column["jsonPath"]):
            errors.invalid(f"{at}.jsonPath", column["jsonPath"],
                           f"this JSON path is {NOT_SUPPORTED} (field names, quoted keys, "
                           "indexes, [*] and == filters are)")
        if isinstance(column.get("priority"), int) and column["priority"] < 0:
            errors.invalid(f"{at}.priority", column["priority"], "must be greater than or "
                           "equal to 0")


def _column_path(value: Any) -> bool:
    from nodelab.controlplane.apiextensions.columns import parse_path

    return parse_path(value) is not None


def _unsupported(errors: FieldErrors, spec: Object) -> None:
    conversion = spec.get("conversion")
    if isinstance(conversion, dict):
        strategy = conversion.get("strategy", "None")
        if strategy == "Webhook":
            errors.forbidden("spec.conversion.strategy", f"conversion webhooks are "
                             f"{NOT_SUPPORTED} (use strategy None)")
        elif strategy != "None":
            errors.unsupported("spec.conversion.strategy", strategy, ["None", "Webhook"])
        if conversion.get("webhook") is not None:
            errors.forbidden("spec.conversion.webhook", NOT_SUPPORTED)
    if spec.get("preserveUnknownFields") is True:
        errors.invalid("spec.preserveUnknownFields", True, "must be false (use "
                       "x-kubernetes-preserve-unknown-fields in the schema)")
    for key in sorted(set(spec) - {"group", "names", "scope", "versions", "conversion",
                                   "preserveUnknownFields"}):
        errors.forbidden(f"spec.{key}", NOT_SUPPORTED)


def _immutable(errors: FieldErrors, spec: Object, old: Object) -> None:
    old_spec = old.get("spec") or {}
    from nodelab.controlplane.apiextensions.naming import is_established

    def immutable(path: str, new: Any, before: Any) -> None:
        if new != before:
            errors.invalid(path, new, "field is immutable")

    if is_established(old):
        immutable("spec.scope", spec.get("scope"), old_spec.get("scope"))
        immutable("spec.names.kind", (spec.get("names") or {}).get("kind"),
                  (old_spec.get("names") or {}).get("kind"))
    immutable("spec.group", spec.get("group"), old_spec.get("group"))
    immutable("spec.names.plural", (spec.get("names") or {}).get("plural"),
              (old_spec.get("names") or {}).get("plural"))
