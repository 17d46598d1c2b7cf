"""The resource types the server serves: the built-in table plus every custom resource an
Established CustomResourceDefinition defines (upstream's crdHandler serving info).

Each served version of an Established CRD is a `ResourceType` named by the CRD's
`status.acceptedNames`, stored under `<group>/<plural>` whatever the version (conversion is
`None`: an object read at another version only changes its `apiVersion`, as upstream). Its
schema (`schema_node`) is the version's `openAPIV3Schema` with `apiVersion`, `kind` and
`metadata` (upstream's ObjectMeta) filled in, as a `kube.schema.Node`, so server-side apply,
managed fields and OpenAPI read it as they read a built-in kind's.

The catalog is rebuilt only when a CRD was written (`Store.last_write`), so a lookup costs a
dictionary read. Versions of a group are ordered as upstream's discovery orders them
(`version_order`: GA before beta before alpha, higher numbers first, others last by name).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Sequence

from nodelab.controlplane.apiextensions import CRD_KEY, naming
from nodelab.controlplane.resources import (
    ALL_VERBS,
    GROUPS,
    RESOURCES,
    CustomResource,
    ResourceType,
)
from nodelab.controlplane.resources import by_kind as builtin_by_kind
from nodelab.controlplane.resources import lookup as builtin_lookup
from nodelab.controlplane.storage.store import Store
from nodelab.kube import schema as kube_schema
from nodelab.kube.objects import Object

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_order(version: str) -> tuple[int, int, int, str]:
    """Sort key of upstream's kube-aware version ordering (first = preferred)."""
    found = _KUBE_VERSION.match(version)
    if found is None:
        return (3, 0, 0, version)
    major, stage, minor = int(found.group(1)), found.group(2), int(found.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def definition_name(group: str, version: str, kind: str) -> str:
    """The OpenAPI definition name of a custom kind (`com.example.stable.v1.CronTab`)."""
    return ".".join([*reversed(group.split(".")), version, kind])


def schema_document(crd: Object, version: str) -> Object:
    """The version's schema as a definition: the CRD's `openAPIV3Schema` plus `apiVersion`,
    `kind` and `metadata` (upstream adds them the same way before publishing it)."""
    served = next(v for v in crd["spec"]["versions"] if v.get("name") == version)
    raw = copy.deepcopy((served.get("schema") or {}).get("openAPIV3Schema") or {})
    properties = raw.setdefault("properties", {})
    properties["apiVersion"] = {
        "type": "string", "description": "APIVersion defines the versioned schema of this "
        "representation of an object. Servers should convert recognized schemas to the "
        "latest internal value, and may reject unrecognized values."}
    properties["kind"] = {
        "type": "string", "description": "Kind is a string value representing the REST "
        "resource this object represents. Servers may infer this from the endpoint the "
        "client submits requests to."}
    properties["metadata"] = {"$ref": f"#/$defs/{OBJECT_META}", **{
        k: v for k, v in (properties.get("metadata") or {}).items()
        if k == "description"}}
    names = (crd.get("status") or {}).get("acceptedNames") or crd["spec"]["names"]
    raw["x-kubernetes-group-version-kind"] = [
        {"group": crd["spec"]["group"], "version": version, "kind": names["kind"]}]
    raw.setdefault("type", "object")
    return raw


def schema_node(crd: Object, version: str) -> kube_schema.Node:
    names = (crd.get("status") or {}).get("acceptedNames") or crd["spec"]["names"]
    name = definition_name(crd["spec"]["group"], version, names["kind"])
    defs = kube_schema.Definitions({**kube_schema.upstream().raw,
                                    name: schema_document(crd, version)})
    return defs.node(name)


def custom_types(crd: Object) -> list[ResourceType]:
    """The resource types an Established CRD serves, one per served version."""
    if not naming.is_established(crd):
        return []
    spec, status = crd.get("spec") or {}, crd.get("status") or {}
    names = status.get("acceptedNames") or {}
    group, plural = str(spec.get("group", "")), str(names.get("plural", ""))
    if not plural or not names.get("kind"):
        return []
    found = []
    for version in spec.get("versions") or []:
        if not version.get("served"):
            continue
        subs = version.get("subresources") or {}
        found.append(ResourceType(
            group, str(version["name"]), str(names["kind"]), plural,
            spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), verbs=ALL_VERBS,
            subresources=tuple(s for s in ("status", "scale") if s in subs),
            categories=tuple(names.get("categories") or ()),
            storage=f"{group}/{plural}", singular_name=str(names.get("singular") or ""),
            custom=CustomResource(crd, str(version["name"]),
                                  schema_node(crd, str(version["name"])))))
    found.sort(key=lambda rt: version_order(rt.version))
    return found


class Catalog:
    """Built-in and custom resource types, over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._seen = -1
        self._custom: tuple[ResourceType, ...] = ()

    def custom(self) -> tuple[ResourceType, ...]:
        mark = self.store.last_write(CRD_KEY)
        if mark == self._seen:
            return self._custom
        with self._lock:
            if mark != self._seen:
                found: list[ResourceType] = []
                for crd in self.store.select(CRD_KEY)[0]:
                    found.extend(custom_types(crd))
                self._custom, self._seen = tuple(found), mark
            return self._custom

    def served(self) -> tuple[ResourceType, ...]:
        return RESOURCES + self.custom()

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions in preferred order) of every named group served."""
        found: dict[str, list[str]] = {g: [v] for g, v in GROUPS}
        for rt in self.custom():
            versions = found.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        for group, versions in found.items():
            if group not in {g for g, _ in GROUPS}:
                versions.sort(key=version_order)
        return list(found.items())

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        found = builtin_lookup(group, version, plural)
        if found is not None:
            return found
        return next((rt for rt in self.custom()
                     if (rt.group, rt.version, rt.plural) == (group, version, plural)), None)

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        return builtin_by_kind(group, kind) or next(
            (rt for rt in self.custom() if (rt.group, rt.kind) == (group, kind)), None)

    def of_definition(self, crd_name: str) -> Sequence[ResourceType]:
        return [rt for rt in self.custom()
                if rt.custom is not None and rt.custom.name == crd_name]
