"""OpenAPI documents: /openapi/v2 (Swagger 2.0) and /openapi/v3 (one document per group-version).

The definitions are upstream's own (`nodelab.kube.schema`, the version the server reports),
as kube-apiserver publishes them: names like `io.k8s.api.core.v1.Pod`, full descriptions (all
of `kubectl explain`'s text), `x-kubernetes-group-version-kind` (how `kubectl explain
pod.spec.containers` finds the Pod schema), and the patch and list-type extensions. Only the
definitions reachable from the served kinds are published. Paths are listed per resource
with the verbs it supports and the `fieldValidation` query parameter, which is what tells
kubectl that the server validates fields itself (so `kubectl apply --validate=strict` sends
`fieldValidation=Strict`).

Custom resources are published as upstream's apiextensions-apiserver publishes them: each
served version of an Established CRD is a definition named `<reversed group>.<version>.<Kind>`
(`com.example.stable.v1.CronTab`) made of its `openAPIV3Schema` with `apiVersion`, `kind` and
`metadata` (ObjectMeta) added, in `/openapi/v3/apis/<group>/<version>` and in `/openapi/v2`,
so `kubectl explain crontab.spec` reads it. The built-in documents are computed once; those
with custom resources again after each CRD write (`Published`, keyed by the catalog).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Sequence
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


COMMON = ("io.k8s.apimachinery.pkg.apis.meta.v1.Status",
          "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
          "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent")


@functools.lru_cache(maxsize=1)
def _reachable() -> tuple[str, ...]:
    """Names of the served kinds' definitions and everything they refer to."""
    return _closure([rt.schema.name for rt in RESOURCES] + list(COMMON))


def _closure(todo: list[str]) -> tuple[str, ...]:
    """The upstream definitions named and everything they refer to."""
    defs = schema.upstream().raw
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


def _paths(selected: Sequence[ResourceType], v3: bool) -> Object:
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


def _custom_definitions(custom: Sequence[ResourceType], ref_prefix: str) -> dict[str, Object]:
    """The custom kinds' definitions and the upstream ones they refer to (ObjectMeta's)."""
    found = {name: _definition(name, ref_prefix)
             for name in _closure(["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                                   *COMMON])}
    for rt in custom:
        found[rt.schema.name] = _convert(dict(rt.schema.raw), ref_prefix)
    return found


class Published:
    """The documents of one set of served types: built-in ones from the caches above, and
    with custom resources computed once per CRD change (`mark`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mark = -1
        self._documents: dict[str, Object] = {}
        self._swagger_protobuf: bytes | None = None

    def _for(self, mark: int) -> dict[str, Object]:
        with self._lock:
            if mark != self._mark:
                self._mark, self._documents, self._swagger_protobuf = mark, {}, None
            return self._documents

    def swagger(self, custom: Sequence[ResourceType], mark: int) -> Object:
        if not custom:
            return swagger()
        documents = self._for(mark)
        if "v2" not in documents:
            base = swagger()
            documents["v2"] = {**base, "paths": {**base["paths"], **_paths(custom, False)},
                               "definitions": {**base["definitions"], **_custom_definitions(
                                   custom, "#/definitions/")}}
        return documents["v2"]

    def swagger_protobuf(self, custom: Sequence[ResourceType], mark: int) -> bytes:
        if not custom:
            return swagger_protobuf()
        document = self.swagger(custom, mark)
        with self._lock:
            if self._swagger_protobuf is None:
                self._swagger_protobuf = openapi_proto.document(document)
            return self._swagger_protobuf

    def group_version(self, group: str, version: str, custom: Sequence[ResourceType],
                      mark: int) -> Object | None:
        selected = [rt for rt in custom if (rt.group, rt.version) == (group, version)]
        if not selected:
            return group_version_document(group, version)
        documents = self._for(mark)
        key = f"{group}/{version}"
        if key not in documents:
            documents[key] = {
                "openapi": "3.0.0",
                "info": {"title": "Kubernetes", "version": schema.KUBERNETES_VERSION},
                "paths": _paths(selected, True),
                "components": {"schemas": _custom_definitions(selected,
                                                              "#/components/schemas/")}}
        return documents[key]

    def v3_root(self, custom: Sequence[ResourceType], mark: int) -> Object:
        paths = dict(v3_root()["paths"])
        for group, version in dict.fromkeys((rt.group, rt.version) for rt in custom):
            document = self.group_version(group, version, custom, mark) or {}
            paths[f"apis/{group}/{version}"] = {
                "serverRelativeURL": f"/openapi/v3/apis/{group}/{version}?hash="
                                     f"{_hash(document)}"}
        return {"paths": paths}

    def document(self, path: str, custom: Sequence[ResourceType], mark: int
                 ) -> Object | None:
        if path == "/openapi/v2":
            return self.swagger(custom, mark)
        if path == "/openapi/v3":
            return self.v3_root(custom, mark)
        parts = [p for p in path.split("/") if p][2:]
        if len(parts) == 2 and parts[0] == "api":
            return group_version_document("", parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return self.group_version(parts[1], parts[2], custom, mark)
        return None

