"""Manifests for `Lab.apply`: a dict, YAML (or JSON) text, or a file, with several documents.

`load_manifests` is pure: it returns the objects in order (empty documents and `List` kinds
unfolded as kubectl does), and refuses, naming the document, anything that is not a
Kubernetes object (no `apiVersion`, `kind` or `metadata.name`). `apply_manifests` sends each
through the official client's dynamic client as a server-side apply (`PATCH` with
`application/apply-patch+yaml`, field manager `nodelab`), as `kubectl apply --server-side`;
the API server's discovery finds each kind's resource, so CustomResources work too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes.dynamic import DynamicClient

from nodelab.errors import NodelabError

Manifest = Mapping[str, Any] | str | Path
FIELD_MANAGER = "nodelab"


def _documents(manifest: Manifest) -> tuple[str, list[Any]]:
    if isinstance(manifest, Mapping):
        return "the manifest", [dict(manifest)]
    if isinstance(manifest, Path) or "\n" not in manifest and Path(manifest).suffix in (
            ".yaml", ".yml", ".json"):
        path = Path(manifest)
        try:
            text = path.read_text()
        except OSError as exc:
            raise NodelabError(f"cannot read the manifest {path}: {exc.strerror}") from exc
        where = str(path)
    else:
        text, where = manifest, "the manifest text"
    try:
        return where, list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise NodelabError(f"{where} is not valid YAML: {exc}") from exc


def load_manifests(manifest: Manifest) -> list[dict[str, Any]]:
    """The objects of `manifest` (a dict, YAML/JSON text, or a path to a .yaml/.yml/.json)."""
    where, documents = _documents(manifest)
    objects: list[dict[str, Any]] = []
    for number, document in enumerate(documents, 1):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise NodelabError(f"document {number} of {where} is not an object "
                               f"({type(document).__name__})")
        if str(document.get("kind", "")).endswith("List") and "items" in document:
            objects.extend(document.get("items") or [])
        else:
            objects.append(document)
    for number, obj in enumerate(objects, 1):
        missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
        if not (obj.get("metadata") or {}).get("name"):
            missing.append("metadata.name")
        if missing:
            raise NodelabError(f"object {number} of {where} has no {', '.join(missing)}: "
                               "every object needs apiVersion, kind and metadata.name")
    if not objects:
        raise NodelabError(f"{where} holds no objects")
    return objects


def apply_manifests(client: DynamicClient, objects: list[dict[str, Any]],
                    namespace: str = "default") -> list[dict[str, Any]]:
    """Server-side apply each object in order; the objects as the API server stored them."""
    applied = []
    for obj in objects:
        resource = client.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        target = (obj["metadata"].get("namespace") or namespace) if resource.namespaced \
            else None
        result = resource.server_side_apply(body=obj, name=obj["metadata"]["name"],
                                            namespace=target, field_manager=FIELD_MANAGER)
        applied.append(result.to_dict())
    return applied
