"""Generic REST semantics over the store: get, list, create, update, patch (upstream's
`registry/generic/registry.Store`).

Every verb works on plain objects and raises `ApiError`; nothing here knows about HTTP.

- create: decode, prune unknown fields (per `fieldValidation`), check the namespace exists and
  is not terminating, default/admit (`strategies`), validate (422 with causes), store.
- update: the same against the stored object, as a compare-and-swap on the resourceVersion the
  client sent (409 when stale). Removing the last finalizer of an object being deleted
  deletes it.
- patch: read, apply the patch (`patches`), then update with the read revision; a conflict with
  another writer is retried from a fresh read, as GuaranteedUpdate does, unless the patch
  itself names a resourceVersion.
- server-side apply (`application/apply-patch+yaml`) creates the object if missing, otherwise
  merges the applied configuration strategically and records the field manager.

Deletion (graceful pods, finalizers, owners, namespaces) lives in `deletion.py`.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import CRD_KEY, custom_objects, definitions
from nodelab.controlplane.apiextensions.catalog import Catalog
from nodelab.controlplane.registry import (
    admission,
    decoding,
    events,
    managedfields,
    objects,
    patches,
    server_side_apply,
    strategicpatch,
    strategies,
)
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.selectors import matcher, parse_fields, parse_labels
from nodelab.controlplane.storage.store import AlreadyExists, Conflict, NotFound, Store
from nodelab.controlplane.validation import validate
from nodelab.kube.objects import Object

if TYPE_CHECKING:
    from nodelab.controlplane.auth.access import Identity


PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


@dataclass
class Outcome:
    """An object written (or that would be, on dry run) and the warnings to send along."""

    obj: Object
    warnings: list[str] = field(default_factory=list)
    created: bool = False


def to_wire(rt: ResourceType, obj: Object) -> Object:
    """The stored form as the client of `rt` sees it."""
    if rt.group == "events.k8s.io":
        return events.from_core(obj)
    obj["apiVersion"], obj["kind"] = rt.group_version, rt.kind
    return obj


def from_wire(rt: ResourceType, obj: Object) -> Object:
    if rt.group == "events.k8s.io":
        return events.to_core(obj)
    return obj


class Registry:
    """The REST verbs for every resource type, over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.catalog = Catalog(store)
        # every read-check-write holds it: these verbs, subresources, deletion, eviction
        self.write_lock = threading.RLock()

    # reads ---------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> Object:
        obj = self.store.get(rt.storage_key, namespace, name)
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return to_wire(rt, obj)

    def collection(self, rt: ResourceType, namespace: str | None,
                   query: dict[str, str]) -> Object:
        items, revision = self.store.select(rt.storage_key, namespace)
        labels = parse_labels(query.get("labelSelector", ""))
        fields = parse_fields(query.get("fieldSelector", ""), rt.storage_key,
                              custom_objects.selectable_fields(rt))
        matches = matcher(labels, fields)
        items = [obj for obj in items if matches(obj)]
        meta: Object = {"resourceVersion": str(revision)}
        token = query.get("continue")
        if token:
            try:
                start = json.loads(base64.b64decode(token))
                revision = int(start["rv"])
                key = (start["ns"], start["name"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(f"invalid continue token: {exc}") from exc
            items = [o for o in items if _key(o) > key]
            meta["resourceVersion"] = str(revision)
        limit = int(query.get("limit") or 0)
        if limit > 0 and len(items) > limit:
            last = items[limit - 1]
            ns, name = _key(last)
            meta["continue"] = base64.b64encode(json.dumps(
                {"rv": revision, "ns": ns, "name": name}).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.group_version,
            "metadata": meta,
            "items": [_item(rt, obj) for obj in items],
        }

    # writes --------------------------------------------------------------------------------

    def _decode(self, rt: ResourceType, body: Object, query: dict[str, str]) -> tuple[
            Object, list[str]]:
        checked, warnings = decoding.decode(rt, body, query)
        return from_wire(rt, checked), warnings

    def _check_namespace(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get("core/namespaces", "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if ns.get("metadata", {}).get("deletionTimestamp") and rt.storage_key != "core/events":
            raise errors.ApiError(
                403, "Forbidden",
                f'{rt.plural} "{namespace}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                {"kind": rt.plural, "name": namespace})

    def _services(self, rt: ResourceType) -> list[Object]:
        if rt.storage_key != "core/services":
            return []
        return self.store.select("core/services")[0]

    def _kind_causes(self, rt: ResourceType, obj: Object, old: Object | None,
                     warnings: list[str] | None = None) -> list[errors.Cause]:
        """The causes of the kinds `validation` does not know: CRDs and custom objects (whose
        ratcheted rule failures go to `warnings`)."""
        if rt.custom is not None:
            return custom_objects.validate(rt, obj, old, warnings)
        if rt.storage_key == CRD_KEY:
            return definitions.validate(obj, old).causes
        return []

    def _invalid(self, rt: ResourceType, obj: Object, causes: list[errors.Cause]) -> None:
        if causes:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise errors.invalid(rt.kind, name, rt.group, causes)

    def create(self, rt: ResourceType, namespace: str, body: Object,
               query: dict[str, str], operation: str = "Update",
               requester: Identity | None = None, url_name: str = "") -> Outcome:
        obj, warnings = self._decode(rt, body, query)
        meta = obj.setdefault("metadata", {})
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        objects.prepare_for_create(obj, namespace if rt.namespaced else "")
        with self.write_lock:
            self._check_namespace(rt, namespace)
            admission.confirm_no_escalation(self.store, rt, namespace, url_name, obj, None,
                                            requester)
            admission.node_object(rt, obj, None, requester)
            causes = strategies.before_create(rt, obj, self._services(rt), requester)
            admission.mutating(self.store, rt, obj, None)
            if operation == "Update":
                managedfields.record_update(None, obj, _manager(query), rt.schema)
            causes = validate(rt.storage_key, obj) + self._kind_causes(rt, obj, None) + causes
            self._invalid(rt, obj, causes)
            admission.validating(self.store, rt, obj, None, "", query)
            if query.get("dryRun"):
                return Outcome(to_wire(rt, obj), warnings, True)
            try:
                self.store.create(rt.storage_key, namespace if rt.namespaced else "",
                                  meta["name"], obj)
            except AlreadyExists as exc:
                raise errors.already_exists(rt.plural, meta["name"], rt.group) from exc
        return Outcome(to_wire(rt, obj), warnings, True)

    def update(self, rt: ResourceType, namespace: str, name: str, body: Object,
               query: dict[str, str], subresource: str = "",
               requester: Identity | None = None) -> Outcome:
        obj, warnings = self._decode(rt, body, query)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(f"the name of the object ({meta['name']}) does not match "
                                     f"the name on the URL ({name})")
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the "
                                     "namespace sent on the request")
        rv = meta.get("resourceVersion")
        expected = int(rv) if rv else None
        return Outcome(self._replace(rt, namespace, name, obj, expected, query, subresource,
                                     requester=requester, warnings=warnings), warnings)

    def _replace(self, rt: ResourceType, namespace: str, name: str, obj: Object,
                 expected: int | None, query: dict[str, str], subresource: str,
                 operation: str = "Update", requester: Identity | None = None,
                 warnings: list[str] | None = None) -> Object:
        ns = namespace if rt.namespaced else ""
        with self.write_lock:
            old = self.store.get(rt.storage_key, ns, name)
            if old is None:
                raise errors.not_found(rt.plural, name, rt.group)
            if expected is not None and str(expected) != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, name, rt.group,
                                      "the object has been modified; please apply your changes "
                                      "to the latest version and try again")
            obj.setdefault("metadata", {})
            admission.confirm_no_escalation(self.store, rt, namespace, name, obj, old, requester)
            admission.node_object(rt, obj, old, requester)
            causes = strategies.before_update(rt, obj, old, subresource, self._services(rt))
            admission.mutating(self.store, rt, obj, old)
            objects.prepare_for_update(obj, old)
            if operation == "Update":
                managedfields.record_update(old, obj, _manager(query), rt.schema, subresource)
            causes = (validate(rt.storage_key, obj, old)
                      + self._kind_causes(rt, obj, old, warnings) + causes)
            self._invalid(rt, obj, causes)
            admission.validating(self.store, rt, obj, old, subresource, query)
            if query.get("dryRun"):
                return to_wire(rt, obj)
            if _finished(rt, obj):
                deleted = self.store.delete(rt.storage_key, ns, name)
                return to_wire(rt, deleted)
            try:
                self.store.update(rt.storage_key, ns, name, obj,
                                  int(old["metadata"]["resourceVersion"]))
            except (Conflict, NotFound) as exc:
                raise errors.conflict(rt.plural, name, rt.group, str(exc)) from exc
        return to_wire(rt, obj)

    def patch(self, rt: ResourceType, namespace: str, name: str, content_type: str,
              raw: bytes, query: dict[str, str], subresource: str = "",
              requester: Identity | None = None) -> Outcome:
        kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
        if kind == "strategic" and rt.custom is not None:
            raise custom_objects.refuse_strategic_merge(rt)
        if kind is None:
            raise errors.ApiError(415, "UnsupportedMediaType",
                                  f"the body of the request was in an unknown format - accepted "
                                  f"media types include: {', '.join(PATCH_TYPES)}")
        try:
            document = (server_side_apply.document(raw) if kind == "apply"
                        else json.loads(raw or b"null"))
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        ns = namespace if rt.namespaced else ""
        for _ in range(10):
            current = self.store.get(rt.storage_key, ns, name)
            if current is None:
                if kind == "apply":
                    return self._apply_create(rt, namespace, name, document, query,
                                              requester)
                raise errors.not_found(rt.plural, name, rt.group)
            current = to_wire(rt, current)
            patched = self._patched(rt, kind, current, document, query)
            patched_meta = patched.setdefault("metadata", {})
            asked = patched_meta.get("resourceVersion")
            pinned = kind != "apply" and asked is not None and asked != current["metadata"].get(
                "resourceVersion")
            if pinned:
                raise errors.conflict(rt.plural, name, rt.group,
                                      "the object has been modified; please apply your changes "
                                      "to the latest version and try again")
            patched_meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            obj, warnings = self._decode(rt, patched, query)
            try:
                written = self._replace(rt, namespace, name, obj,
                                        int(current["metadata"]["resourceVersion"]), query,
                                        subresource, "Apply" if kind == "apply" else "Update",
                                        requester, warnings)
            except errors.ApiError as exc:
                if exc.reason == "Conflict":
                    continue
                raise
            return Outcome(written, warnings)
        raise errors.conflict(rt.plural, name, rt.group, "too many concurrent writers; retry")

    def _patched(self, rt: ResourceType, kind: str, current: Object, document: Any,
                 query: dict[str, str]) -> Object:
        if kind == "json":
            result = patches.json_patch(current, document)
        elif kind == "merge":
            result = patches.merge_patch(current, document)
        elif kind == "strategic":
            result = strategicpatch.apply(current, document, rt.schema)
        else:
            result = server_side_apply.merge(current, document, query, rt.schema)
        if not isinstance(result, dict):
            raise errors.bad_request("the patch result is not an object")
        return result

    def _apply_create(self, rt: ResourceType, namespace: str, name: str, document: Any,
                      query: dict[str, str], requester: Identity | None) -> Outcome:
        if not isinstance(document, dict):
            raise errors.bad_request("apply configuration must be an object")
        body = copy.deepcopy(document)
        body.setdefault("metadata", {})["name"] = name
        body["metadata"]["managedFields"] = managedfields.record_apply(
            [], document, _manager(query), set(), rt.schema)
        return self.create(rt, namespace, body, query, operation="Apply", requester=requester,
                           url_name=name)


def _manager(query: dict[str, str]) -> str:
    return query.get("fieldManager") or "unknown"


def _finished(rt: ResourceType, obj: Object) -> bool:
    """Whether an update leaves an object being deleted with nothing left to wait for."""
    meta, spec = obj["metadata"], obj.get("spec") or {}
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if rt.storage_key == "core/namespaces":
        return not spec.get("finalizers")
    if rt.storage_key == "core/pods":
        return meta.get("deletionGracePeriodSeconds") == 0 or not spec.get("nodeName")
    return True


def _key(obj: Object) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _item(rt: ResourceType, obj: Object) -> Object:
    wire = to_wire(rt, obj)
    wire.pop("apiVersion", None)
    wire.pop("kind", None)
    return wire
