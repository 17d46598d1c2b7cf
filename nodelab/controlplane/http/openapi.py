"""OpenAPI documents: /openapi/v2 (Swagger 2.0) and /openapi/v3 (one document per group-version).

The definitions are upstream's own (`nodelab.kube.schema`, the version the server reports),
as kube-apiserver publishes them: names like `io.k8s.api.core.v1.Pod`, full descriptions (all
of `kubectl explain`'s text), `x-kubernetes-group-version-kind` (how `kubectl explain
pod.spec.containers` finds the Pod schema), and the patch and list-type extensions. Only the
definitions reachable from the served kinds are published. Paths are listed per resource
with the verbs it supports and the `fieldValidation` query parameter, which is what tells
kubectl that the server validates fields itself (so `kubectl apply --validate=strict` sends
`fieldValidation=Strict`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from nodelab.controlplane.http import openapi_proto
from nodelab.controlplane.resources import RESOURCES, ResourceType
from nodelab.kube import schema
from nodelab.kube.objects import Object


def _convert(value: Any, ref_prefix: str) -> Any:
    """A definition in the JSON Schema form it is shipped in, back in OpenAPI's form."""
    if isinstance(value, list):
        return [_convert(v, ref_prefix) for v in value]
    if not isinstance(value, dict):
        return value
    result: Object = {}
    for key, child in value.items():
        if key == "$ref" and isinstance(child, str):
            result[key] = ref_prefix + child.rsplit("/", 1)[-1]
        elif key == "type" and isinstance(child, list):
            result[key] = next((t for t in child if t != "null"), "object")
        elif key == "properties" and isinstance(child, dict):
            result[key] = {name: _convert(prop, ref_prefix) for name, prop in child.items()}
        else:
            result[key] = _convert(child, ref_prefix)
    return result


def _definition(name: str, ref_prefix: str) -> Object:
    raw = dict(schema.upstream().raw[name])
    if "oneOf" in raw:  # IntOrString, Quantity: one string-typed definition upstream
        raw.pop("oneOf")
        raw["type"] = "string"
        if name.endswith("IntOrString"):
            raw["format"] = "int-or-string"
    if raw.get("x-kubernetes-group-version-kind"):
        properties = dict(raw.get("properties") or {})
        for field in ("apiVersion", "kind"):  # the converter pins these; upstream does not
            if field in properties:
                properties[field] = {k: v for k, v in properties[field].items() if k != "enum"}
        raw["properties"] = properties
    converted: Object = _convert(raw, ref_prefix)
    return converted


def _references(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for child in value.values():
            _references(child, found)
    elif isinstance(value, list):
        for child in value:
            _references(child, found)


@functools.lru_cache(maxsize=1)
def _reachable() -> tuple[str, ...]:
    """Names of the served kinds' definitions and everything they refer to."""
    defs = schema.upstream().raw
    todo = [rt.schema.name for rt in RESOURCES]
    todo += ["io.k8s.apimachinery.pkg.apis.meta.v1.Status",
             "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
             "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        refs: set[str] = set()
        _references(defs[name], refs)
        todo.extend(refs - seen)
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=2)
def _definitions(ref_prefix: str) -> dict[str, Object]:
    return {name: _definition(name, ref_prefix) for name in _reachable()}


def _parameters() -> list[Object]:
    return [{"name": name, "in": "query", "type": "string", "uniqueItems": True,
             "description": name}
            for name in ("dryRun", "fieldManager", "fieldValidation")]


def _paths(selected: list[ResourceType], v3: bool) -> Object:
    paths: Object = {}
    for rt in selected:
        base = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
        scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else (
            f"{base}/{rt.plural}")
        ref = (f"#/components/schemas/{rt.schema.name}" if v3
               else f"#/definitions/{rt.schema.name}")
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
    return {"swagger": "2.0",
            "info": {"title": "Kubernetes", "version": schema.KUBERNETES_VERSION},
            "paths": _paths(list(RESOURCES), False),
            "definitions": _definitions("#/definitions/")}


@functools.lru_cache(maxsize=1)
def swagger_protobuf() -> bytes:
    """/openapi/v2 as protobuf, which is how kubectl asks for it (`openapi_proto.py`)."""
    return openapi_proto.document(swagger())


@functools.cache
def group_version_document(group: str, version: str) -> Object | None:
    selected = [rt for rt in RESOURCES if (rt.group, rt.version) == (group, version)]
    if not selected:
        return None
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": schema.KUBERNETES_VERSION},
            "paths": _paths(selected, True),
            "components": {"schemas": _definitions("#/components/schemas/")}}


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
