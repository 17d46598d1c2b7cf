"""Paths inside volumes: subPath and the `items[].path` of projected files (upstream's rules).

Upstream's `validateLocalDescendingPath` (subPath, subPathExpr) refuses an absolute path and any
`..` component; `validateLocalNonReservedPath` (configMap/secret/downwardAPI/projected
`items[].path`) also refuses a first component starting with `..` (the atomic writer's own
`..data` and `..<timestamp>` names live there).
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.validation.fields import FieldErrors


def local_descending_path(errors: FieldErrors, path: str, value: Any) -> None:
    if not isinstance(value, str):
        errors.invalid(path, value, "must be a string")
        return
    if value.startswith("/"):
        errors.invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        errors.invalid(path, value, "must not contain '..'")


def local_non_reserved_path(errors: FieldErrors, path: str, value: Any) -> None:
    local_descending_path(errors, path, value)
    if isinstance(value, str) and value.startswith(".."):
        errors.invalid(path, value, "must not start with '..'")


def _items(errors: FieldErrors, path: str, items: Any) -> None:
    for j, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            if not item.get("path"):
                errors.required(f"{path}.items[{j}].path")
            else:
                local_non_reserved_path(errors, f"{path}.items[{j}].path", item["path"])


def volume_sources(errors: FieldErrors, path: str, volume: dict[str, Any]) -> None:
    """The item paths of one volume (configMap, secret, downwardAPI, projected sources)."""
    for plugin in ("configMap", "secret", "downwardAPI"):
        if isinstance(volume.get(plugin), dict):
            _items(errors, f"{path}.{plugin}", volume[plugin].get("items"))
    projected = volume.get("projected")
    if isinstance(projected, dict):
        for k, source in enumerate(projected.get("sources") or []):
            for plugin in ("configMap", "secret", "downwardAPI"):
                if isinstance(source, dict) and isinstance(source.get(plugin), dict):
                    _items(errors, f"{path}.projected.sources[{k}].{plugin}",
                           source[plugin].get("items"))
            token = (source or {}).get("serviceAccountToken") if isinstance(source, dict) else None
            if isinstance(token, dict) and token.get("path"):
                local_non_reserved_path(
                    errors, f"{path}.projected.sources[{k}].serviceAccountToken.path",
                    token["path"])
