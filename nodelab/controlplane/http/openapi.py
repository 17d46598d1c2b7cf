"""OpenAPI documents: /openapi/v2 (Swagger 2.0) and /openapi/v3 (one document per group-version).

The schemas come from `schema.py` (the official client's generated models), named as upstream
names them (`io.k8s.api.core.v1.Pod`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`) and
marked with `x-kubernetes-group-version-kind`, which is how `kubectl explain pod.spec.containers`
finds the Pod schema. Lists carry `x-kubernetes-patch-merge-key`/`-strategy` where strategic
merge patches merge by key. Paths are listed per resource with the verbs it supports and the
`fieldValidation` query parameter, which is what tells kubectl that the server validates fields
itself (so `kubectl apply --validate=strict` sends `fieldValidation=Strict`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

from nodelab.controlplane import schema
from nodelab.controlplane.registry.patches import MERGE_KEYS
from nodelab.controlplane.resources import RESOURCES, ResourceType

Object = dict[str, Any]

_META_MODELS = {
    "V1ObjectMeta", "V1ListMeta", "V1LabelSelector", "V1LabelSelectorRequirement",
    "V1ManagedFieldsEntry", "V1OwnerReference", "V1Status", "V1StatusDetails", "V1StatusCause",
    "V1Condition", "V1DeleteOptions", "V1Preconditions",
}
_PACKAGES = {"": "io.k8s.api.core.v1", "apps": "io.k8s.api.apps.v1",
             "batch": "io.k8s.api.batch.v1",
             "discovery.k8s.io": "io.k8s.api.discovery.v1",
             "coordination.k8s.io": "io.k8s.api.coordination.v1",
             "events.k8s.io": "io.k8s.api.events.v1",
             "certificates.k8s.io": "io.k8s.api.certificates.v1"}
_SPECIAL: dict[str, Object] = {"object": {"x-kubernetes-int-or-string": True},
            "datetime": {"type": "string", "format": "date-time"},
            "date": {"type": "string", "format": "date"},
            "str": {"type": "string"}, "int": {"type": "integer", "format": "int64"},
            "bool": {"type": "boolean"}, "float": {"type": "number", "format": "double"},
            "bytearray": {"type": "string", "format": "byte"}}
_LIST = re.compile(r"^List\[(.+)\]$")
_DICT = re.compile(r"^Dict\[str, (.+)\]$")


def _short_kind(model: str) -> str:
    return re.sub(r"^(V1|EventsV1|CoreV1|DiscoveryV1)", "", model)


@functools.lru_cache(maxsize=1)
def _definitions() -> tuple[dict[str, Object], dict[str, str]]:
    """All schemas reachable from the served resources, and model -> definition name."""
    names: dict[str, str] = {}
    owners: list[tuple[str, str]] = []
    for rt in RESOURCES:
        owners.append((rt.model, _PACKAGES.get(rt.group, "io.k8s.api.core.v1")))
    for model, package in owners:
        _name_tree(model, package, names)
    definitions: dict[str, Object] = {}
    for model, name in names.items():
        definitions[name] = _schema(model, names)
    for rt in RESOURCES:
        definition = definitions[names[rt.model]]
        definition["x-kubernetes-group-version-kind"] = [
            {"group": rt.group, "version": rt.version, "kind": rt.kind}]
    return definitions, names


def _name_tree(model: str, package: str, names: dict[str, str]) -> None:
    if model in names or not schema.model_fields(model):
        return
    prefix = "io.k8s.apimachinery.pkg.apis.meta.v1" if model in _META_MODELS else package
    names[model] = f"{prefix}.{_short_kind(model)}"
    for kind in schema.model_fields(model).values():
        inner = _element(kind)
        if schema.is_model(inner):
            _name_tree(inner, package, names)


def _element(kind: str) -> str:
    while True:
        match = _LIST.match(kind) or _DICT.match(kind)
        if not match:
            return kind
        kind = match.group(1)


def _type(kind: str, names: dict[str, str]) -> Object:
    if (match := _LIST.match(kind)):
        return {"type": "array", "items": _type(match.group(1), names)}
    if (match := _DICT.match(kind)):
        return {"type": "object", "additionalProperties": _type(match.group(1), names)}
    if kind in _SPECIAL:
        found: Object = dict(_SPECIAL[kind])
        return found
    if kind in names:
        return {"$ref": f"#/definitions/{names[kind]}"}
    return {"type": "object"}


def _schema(model: str, names: dict[str, str]) -> Object:
    descriptions = schema.field_descriptions(model)
    properties: Object = {}
    for field, kind in schema.model_fields(model).items():
        prop = _type(kind, names)
        if descriptions.get(field):
            prop["description"] = descriptions[field]
        if field in MERGE_KEYS and prop.get("type") == "array":
            prop["x-kubernetes-patch-strategy"] = "merge"
            key = MERGE_KEYS[field]
            if key:
                prop["x-kubernetes-patch-merge-key"] = (
                    "containerPort" if field == "ports" and model == "V1Container" else key)
        properties[field] = prop
    return {"description": schema.model_description(model), "type": "object",
            "properties": properties}


def _parameters() -> list[Object]:
    return [{"name": name, "in": "query", "type": "string", "uniqueItems": True,
             "description": name}
            for name in ("dryRun", "fieldManager", "fieldValidation")]


def _paths(selected: list[ResourceType], names: dict[str, str], v3: bool) -> Object:
    paths: Object = {}
    for rt in selected:
        base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
        scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else (
            f"{base}/{rt.plural}")
        ref = (f"#/components/schemas/{names[rt.model]}" if v3
               else f"#/definitions/{names[rt.model]}")
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}

        def op(action: str, verb: str, rt: ResourceType = rt, gvk: Object = gvk,
               ref: str = ref) -> Object:
            operation: Object = {
                "operationId": f"{verb}{rt.kind}",
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK", **(
                    {"content": {"application/json": {"schema": {"$ref": ref}}}} if v3
                    else {"schema": {"$ref": ref}})}},
            }
            if action in ("post", "put", "patch"):
                operation["parameters"] = [
                    {**p, "schema": {"type": "string"}} if v3 else p for p in _parameters()]
                if v3:
                    for p in operation["parameters"]:
                        p.pop("type", None)
            return operation

        paths[scope] = {"get": op("list", "list"), "post": op("post", "create")}
        paths[f"{scope}/{{name}}"] = {"get": op("get", "read"), "put": op("put", "replace"),
                                      "patch": op("patch", "patch"),
                                      "delete": op("delete", "delete")}
        if rt.has_status:
            paths[f"{scope}/{{name}}/status"] = {"get": op("get", "readStatus"),
                                                 "put": op("put", "replaceStatus"),
                                                 "patch": op("patch", "patchStatus")}
    return paths


@functools.lru_cache(maxsize=1)
def swagger() -> Object:
    definitions, names = _definitions()
    return {"swagger": "2.0", "info": {"title": "Kubernetes (nodelab)", "version": "v1.37.0"},
            "paths": _paths(list(RESOURCES), names, False), "definitions": definitions}


def _as_v3(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v.replace("#/definitions/", "#/components/schemas/") if k == "$ref"
                    else _as_v3(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_v3(v) for v in value]
    return value


@functools.cache
def group_version_document(group: str, version: str) -> Object | None:
    selected = [rt for rt in RESOURCES if (rt.group, rt.version) == (group, version)]
    if not selected:
        return None
    definitions, names = _definitions()
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (nodelab)", "version": "v1.37.0"},
            "paths": _paths(selected, names, True),
            "components": {"schemas": _as_v3(definitions)}}


def _hash(document: Object) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:64].upper()


@functools.lru_cache(maxsize=1)
def v3_root() -> Object:
    paths: Object = {}
    for group, version in dict.fromkeys((rt.group, rt.version) for rt in RESOURCES):
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        document = group_version_document(group, version) or {}
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={_hash(document)}"}
    return {"paths": paths}


def document(path: str, query: dict[str, str]) -> Object | None:
    if path == "/openapi/v2":
        return swagger()
    if path == "/openapi/v3":
        return v3_root()
    parts = [p for p in path.split("/") if p][2:]
    if len(parts) == 2 and parts[0] == "api":
        return group_version_document("", parts[1])
    if len(parts) == 3 and parts[0] == "apis":
        return group_version_document(parts[1], parts[2])
    return None
