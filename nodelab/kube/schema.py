"""Upstream's OpenAPI definitions of the Kubernetes version nodelab reports, as one schema.

kube-apiserver publishes the schema of every type it serves (`/openapi/v2`, `/openapi/v3`):
field names, types, descriptions, and the `x-kubernetes-*` extensions that say how a field
merges. nodelab loads the same definitions, for the version it reports (`KUBERNETES_VERSION`),
from the `kubernetes-validate` package, which ships upstream's definitions of each release
converted to JSON Schema (`$ref: #/$defs/...`, nullable types as `["string", "null"]`).
Everything that depends on the shape of an object reads it from here:

- strategic merge patch: `x-kubernetes-patch-strategy` (`merge`, `replace`, `retainKeys`) and
  `x-kubernetes-patch-merge-key` on a field;
- server-side apply: `x-kubernetes-list-type` (`atomic`, `set`, `map`) with
  `x-kubernetes-list-map-keys`, and `x-kubernetes-map-type` (`granular`, `atomic`);
- decoding: unknown fields (`fieldValidation`), wrong JSON types (a list where an object
  belongs), and the OpenAPI documents `kubectl explain` reads.

A `Node` is one place in a schema: a definition, a field of one, the items of a list or the
values of a map. A field's own extensions (which sit beside its `$ref`) are kept on the node
that the reference resolves to, since that is where upstream's tools read them. `Definitions`
can hold any set of definitions, so upstream's own strategic-merge test schema loads too.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError

KUBERNETES_VERSION = "v1.37.0"



@dataclass(frozen=True)
class Node:
    """One place in a schema, with `$ref` resolved; `name` is the definition it came from."""

    defs: Definitions
    raw: Mapping[str, Any]
    name: str = ""

    # shape -----------------------------------------------------------------------------

    @property
    def types(self) -> frozenset[str]:
        """The JSON types allowed here (`object`, `array`, `string`, ...); empty: any."""
        if "oneOf" in self.raw:
            found: set[str] = set()
            for option in self.raw["oneOf"]:
                found |= _types(option)
            return frozenset(found)
        if "type" not in self.raw and ("properties" in self.raw
                                       or "additionalProperties" in self.raw):
            return frozenset({"object"})
        return _types(self.raw)

    @property
    def is_struct(self) -> bool:
        """An object with named fields (a Go struct), as opposed to a map or free-form."""
        return "properties" in self.raw

    @property
    def is_map(self) -> bool:
        return "additionalProperties" in self.raw and not self.is_struct

    @property
    def preserves_unknown(self) -> bool:
        """Free-form JSON (RawExtension, JSON, ...): no field is unknown inside."""
        if self.raw.get("x-kubernetes-preserve-unknown-fields"):
            return True
        return self.types == {"object"} and not self.is_struct and not self.is_map

    def field(self, key: str) -> Node | None:
        """The schema of field `key` of this struct, or None when it has no such field."""
        prop = (self.raw.get("properties") or {}).get(key)
        return None if prop is None else self.defs.resolve(prop)

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.raw.get("properties") or {}

    @property
    def items(self) -> Node | None:
        items = self.raw.get("items")
        return None if items is None else self.defs.resolve(items)

    @property
    def values(self) -> Node | None:
        values = self.raw.get("additionalProperties")
        return None if not isinstance(values, Mapping) else self.defs.resolve(values)

    @property
    def description(self) -> str:
        return str(self.raw.get("description") or "")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(self.raw.get("required") or ())

    # merge semantics ------------------------------------------------------------------

    @property
    def patch_strategies(self) -> tuple[str, ...]:
        """`x-kubernetes-patch-strategy` split on commas (`merge,retainKeys`)."""
        value = str(self.raw.get("x-kubernetes-patch-strategy") or "")
        return tuple(s for s in value.split(",") if s)

    @property
    def patch_merge_key(self) -> str:
        return str(self.raw.get("x-kubernetes-patch-merge-key") or "")

    @property
    def list_type(self) -> str:
        """`atomic`, `set` or `map`; lists without the extension are atomic, as upstream."""
        return str(self.raw.get("x-kubernetes-list-type") or "atomic")

    @property
    def list_map_keys(self) -> tuple[str, ...]:
        return tuple(self.raw.get("x-kubernetes-list-map-keys") or ())

    @property
    def map_type(self) -> str:
        """`granular` (the default for structs and maps) or `atomic`."""
        return str(self.raw.get("x-kubernetes-map-type") or "granular")

    @property
    def go_type(self) -> str:
        """The Go type upstream decodes into (`[]v1.Container`, `map[string]string`, `int32`),
        as Go's JSON decoder names it in its errors."""
        if self.name and self.is_struct:
            parts = self.name.split(".")
            return f"{parts[-2]}.{parts[-1]}" if len(parts) > 1 else self.name
        types = self.types - {"null"}
        if types == {"array"} and self.items is not None:
            return "[]" + self.items.go_type
        if types == {"object"} and self.values is not None:
            return "map[string]" + self.values.go_type
        fmt = str(self.raw.get("format") or "")
        if types == {"integer"}:
            return fmt if fmt in ("int32", "int64") else "int64"
        if types == {"number"}:
            return "float64"
        if types == {"boolean"}:
            return "bool"
        if types == {"string"}:
            return "[]uint8" if fmt == "byte" else "string"
        return "interface {}"


def _types(raw: Mapping[str, Any]) -> frozenset[str]:
    value = raw.get("type")
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(v) for v in value)


class Definitions:
    """A set of named definitions (`io.k8s.api.core.v1.Pod`: {...}) and lookups in it."""

    def __init__(self, defs: Mapping[str, Mapping[str, Any]]) -> None:
        self.raw = defs
        kinds: dict[tuple[str, str, str], str] = {}
        for name, definition in defs.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                kinds.setdefault((gvk.get("group", ""), gvk["version"], gvk["kind"]), name)
        self._kinds = kinds
        # resolved `$ref`s by the id of the referring dict (kept alive beside its node)
        self._resolved: dict[int, tuple[Mapping[str, Any], Node]] = {}

    def node(self, name: str) -> Node:
        if name not in self.raw:
            raise KeyError(f"no definition {name!r} in the schema")
        return Node(self, self.raw[name], name)

    def resolve(self, raw: Mapping[str, Any]) -> Node:
        """The node `raw` stands for: its `$ref` followed, its own keys laid over the target."""
        ref = raw.get("$ref")
        if not isinstance(ref, str):
            return Node(self, raw)
        cached = self._resolved.get(id(raw))
        if cached is not None and cached[0] is raw:
            return cached[1]
        name = ref.rsplit("/", 1)[-1]
        target = self.raw.get(name, {})
        own = {k: v for k, v in raw.items() if k != "$ref"}
        node = Node(self, {**target, **own}, name)
        self._resolved[id(raw)] = (raw, node)
        return node

    def name_for_kind(self, group: str, version: str, kind: str) -> str | None:
        """The definition of a kind, found by its `x-kubernetes-group-version-kind`."""
        return self._kinds.get((group, version, kind))

    def for_kind(self, group: str, version: str, kind: str) -> Node | None:
        name = self.name_for_kind(group, version, kind)
        return None if name is None else self.node(name)


def definitions_file() -> Path:
    """Where `kubernetes-validate` keeps the definitions of `KUBERNETES_VERSION`, found without
    importing the package: its `__init__` imports jsonschema, whose format checkers build lark
    grammars at import (about 15 MiB of heap and 2 s of CPU in each process)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise NodelabError("the kubernetes-validate package is not installed: nodelab reads "
                           "upstream's schemas from it (run `bash scripts/setup env`)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    return folder / f"{KUBERNETES_VERSION}-local" / "_definitions.json"


@functools.cache
def upstream() -> Definitions:
    """Upstream's definitions of `KUBERNETES_VERSION` (loaded once, about 2 MB of JSON)."""
    document = json.loads(definitions_file().read_text())
    return Definitions(document["$defs"])


def for_kind(group: str, version: str, kind: str) -> Node | None:
    """Upstream's schema of a served kind (`for_kind("apps", "v1", "Deployment")`)."""
    return upstream().for_kind(group, version, kind)
