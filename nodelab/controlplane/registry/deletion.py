"""Deletion as upstream does it: graceful pods, finalizers, owners, namespaces.

- **Graceful pods.** A pod bound to a node is not removed at once: it gets
  `deletionTimestamp` (now + grace) and `deletionGracePeriodSeconds` (from DeleteOptions, else
  the pod's `terminationGracePeriodSeconds`), and its kubelet, having stopped the containers,
  deletes it again with grace 0. Unbound or finished pods, and `gracePeriodSeconds: 0`
  (`kubectl delete --force --grace-period=0`), go at once.
- **Finalizers.** An object with finalizers is only marked (`deletionTimestamp`); whoever owns
  the finalizer removes it, and the update that removes the last one deletes the object.
- **Owners.** Deleting an object deletes the objects whose `ownerReferences` name it (the
  garbage collector's Background propagation), unless `propagationPolicy` is `Orphan`, in
  which case their references to it are removed. With `Foreground` the owner stays, marked
  (`deletionTimestamp`, the `foregroundDeletion` finalizer, whether it has dependents or
  not), until the dependents whose reference says `blockOwnerDeletion: true` are gone
  (`finalize_foreground`, run with the server's loop every second), as upstream's garbage
  collector does.
  A batch/v1 Job deleted without a policy orphans its pods, with upstream's warning
  (`default_propagation`).
- **CustomResourceDefinitions.** Deleting one marks it (`apiextensions/lifecycle.py`): its
  finalizer `customresourcecleanup.apiextensions.k8s.io` is removed, and the CRD deleted, once
  the server's loop has deleted every object of it (`finalize_definitions`).
- **Namespaces.** Deleting a namespace marks it Terminating; `finalize_namespaces` (run
  periodically by the server) deletes its contents and then the namespace.
"""

from __future__ import annotations

import datetime
import json

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import CRD_KEY, custom_objects, lifecycle
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.registry import write_options
from nodelab.controlplane.registry.rest import Registry, to_wire
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.selectors import matcher, parse_fields, parse_labels
from nodelab.controlplane.storage.store import Conflict, NotFound
from nodelab.controlplane.validation.fields import FieldErrors
from nodelab.kube.objects import Object
from nodelab.kubewire import times

PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


def delete_options(body: Object | None, query: dict[str, str],
                   dry_run: list[str] | None = None) -> Object:
    """DeleteOptions from the body, completed by the query parameters clients also use
    (`dry_run`: every `dryRun` value of the query), refused as upstream's ValidateDeleteOptions
    refuses them (a 422 on DeleteOptions.meta.k8s.io); a negative grace period is 1 s, as
    upstream's BeforeDelete."""
    options = dict(body or {})
    if "gracePeriodSeconds" in query and options.get("gracePeriodSeconds") is None:
        try:
            options["gracePeriodSeconds"] = int(query["gracePeriodSeconds"])
        except ValueError as exc:
            raise errors.bad_request("gracePeriodSeconds must be an integer") from exc
    if "propagationPolicy" in query:
        options.setdefault("propagationPolicy", query["propagationPolicy"])
    if query.get("orphanDependents") in ("true", "false") and options.get(
            "orphanDependents") is None:
        options["orphanDependents"] = query["orphanDependents"] == "true"
    if dry_run is None and query.get("dryRun"):
        dry_run = [query["dryRun"]]
    if dry_run and not options.get("dryRun"):
        options["dryRun"] = list(dry_run)
    return checked(options)


def checked(options: Object) -> Object:
    """The options as the store's BeforeDelete takes them: refused as upstream's
    ValidateDeleteOptions refuses them (a 422 on DeleteOptions.meta.k8s.io), a negative grace
    period made 1 s (the eviction subresource's options come here too)."""
    causes = delete_options_errors(options)
    if causes:
        raise errors.invalid("DeleteOptions", "", "meta.k8s.io", causes)
    options = dict(options)
    if isinstance(options.get("gracePeriodSeconds"), int) and options["gracePeriodSeconds"] < 0:
        options["gracePeriodSeconds"] = 1
    if options.get("orphanDependents") is True:
        options["propagationPolicy"] = "Orphan"
    return options


def delete_options_errors(options: Object) -> list[Cause]:
    """Upstream's ValidateDeleteOptions: one of the policies, not both the deprecated
    orphanDependents and a policy, dryRun only `All`."""
    found = FieldErrors()
    policy = options.get("propagationPolicy")
    if options.get("orphanDependents") is not None and policy is not None:
        found.invalid("propagationPolicy", policy,
                      "orphanDependents and deletionPropagation cannot be both set")
    if policy is not None and policy not in PROPAGATION_POLICIES:
        found.unsupported("propagationPolicy", policy, [*PROPAGATION_POLICIES, "nil"])
    return found.causes + write_options.dry_run_errors(options.get("dryRun") or [])


def _grace(rt: ResourceType, obj: Object, options: Object) -> int | None:
    """Seconds of grace for a pod deletion, or None to delete at once."""
    if rt.storage_key != "core/pods":
        return None
    spec, phase = obj.get("spec") or {}, (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return None
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", 30)
    grace = int(grace)
    return None if grace <= 0 else grace


JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set "
                      "propagationPolicy=Background to remove them or set "
                      "propagationPolicy=Orphan to suppress this warning")


def default_propagation(rt: ResourceType, options: Object) -> list[str]:
    """batch/v1 Jobs orphan their pods unless the request says otherwise (upstream keeps that
    default for compatibility, with a warning); the warnings to send back."""
    if rt.storage_key != "batch/jobs" or options.get("propagationPolicy") or options.get(
            "orphanDependents") is not None:
        return []
    options["propagationPolicy"] = "Orphan"
    return [JOB_ORPHAN_WARNING]


def delete(registry: Registry, rt: ResourceType, namespace: str, name: str, options: Object,
           query: dict[str, str]) -> Object:
    ns = namespace if rt.namespaced else ""
    store = registry.store
    with registry.write_lock:
        obj = store.get(rt.storage_key, ns, name)
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        meta = obj["metadata"]
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
            raise errors.conflict(rt.plural, name, rt.group,
                                  f"Precondition failed: UID in precondition: "
                                  f"{preconditions['uid']}, UID in object meta: {meta.get('uid')}")
        if (preconditions.get("resourceVersion")
                and preconditions["resourceVersion"] != meta.get("resourceVersion")):
            raise errors.conflict(rt.plural, name, rt.group, "Precondition failed: "
                                  "resourceVersion does not match")
        if query.get("dryRun") or options.get("dryRun"):
            return to_wire(rt, obj)
        if rt.storage_key == "core/namespaces":
            return to_wire(rt, _mark_namespace(registry, obj))
        if rt.storage_key == CRD_KEY:
            lifecycle.mark_for_deletion(obj)
            store.update(rt.storage_key, "", name, obj, int(meta["resourceVersion"]))
            return to_wire(rt, obj)
        grace = _grace(rt, obj, options)
        policy = options.get("propagationPolicy") or query.get("propagationPolicy")
        marked: Object | None = None
        if policy == "Foreground" and grace is None and FOREGROUND not in (
                meta.get("finalizers") or []):  # dependents or not: the collector's pass
            # (`finalize_foreground`) removes the finalizer, as upstream's garbage collector
            meta["finalizers"] = [*(meta.get("finalizers") or []), FOREGROUND]
            meta.setdefault("deletionTimestamp", times.now())
            meta.setdefault("deletionGracePeriodSeconds", 0)
            marked = store.update(rt.storage_key, ns, name, obj, int(meta["resourceVersion"]))
        elif meta.get("finalizers") or grace is not None:
            if grace is not None:
                if meta.get("deletionTimestamp") and int(
                        meta.get("deletionGracePeriodSeconds") or 0) <= grace:
                    return to_wire(rt, obj)
                deadline = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                    seconds=grace)
                meta["deletionTimestamp"] = times.format_time(deadline)
                meta["deletionGracePeriodSeconds"] = grace
            elif not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = times.now()
                meta["deletionGracePeriodSeconds"] = 0
            elif meta.get("deletionGracePeriodSeconds"):
                meta["deletionGracePeriodSeconds"] = 0  # forced: only finalizers hold it now
            else:
                return to_wire(rt, obj)
            store.update(rt.storage_key, ns, name, obj, int(meta["resourceVersion"]))
            return to_wire(rt, obj)
        if marked is None:
            deleted = store.delete(rt.storage_key, ns, name)
    if marked is not None:
        collect_dependents(registry, marked, "Foreground")
        return to_wire(rt, marked)
    collect_dependents(registry, deleted, policy)
    return to_wire(rt, deleted)


FOREGROUND = "foregroundDeletion"


def _dependents(registry: Registry, owner: Object) -> list[tuple[ResourceType, Object]]:
    """The objects whose ownerReferences name `owner` (by uid), with their types."""
    uid = owner["metadata"].get("uid")
    namespace = owner["metadata"].get("namespace") or ""
    found = []
    for rt in _storages(registry):
        if rt.group == "events.k8s.io" or (namespace and not rt.namespaced):
            continue
        for dependent in registry.store.select(rt.storage_key, namespace or None)[0]:
            if any(ref.get("uid") == uid
                   for ref in dependent["metadata"].get("ownerReferences") or []):
                found.append((rt, dependent))
    return found


def _blocking(registry: Registry, owner: Object) -> bool:
    """Whether a dependent that blocks its owner's deletion is still there."""
    uid = owner["metadata"].get("uid")
    return any(ref.get("uid") == uid and ref.get("blockOwnerDeletion")
               for _, dependent in _dependents(registry, owner)
               for ref in dependent["metadata"].get("ownerReferences") or [])


def _release_foreground(registry: Registry, rt: ResourceType, owner: Object) -> Object | None:
    """Drop the `foregroundDeletion` finalizer once no blocking dependent is left (the object
    goes with it when that was its last finalizer); the object as it stands, or None."""
    if _blocking(registry, owner):
        return owner
    meta = owner["metadata"]
    ns = meta.get("namespace") or ""
    with registry.write_lock:
        current = registry.store.get(rt.storage_key, ns, meta["name"])
        if current is None or current["metadata"].get("uid") != meta.get("uid"):
            return None
        finalizers = [f for f in current["metadata"].get("finalizers") or [] if f != FOREGROUND]
        if finalizers:
            current["metadata"]["finalizers"] = finalizers
            return registry.store.update(rt.storage_key, ns, meta["name"], current,
                                         int(current["metadata"]["resourceVersion"]))
        return registry.store.delete(rt.storage_key, ns, meta["name"])


def finalize_foreground(registry: Registry) -> None:
    """The garbage collector's pass over owners deleted in the foreground: their dependents
    are deleted, and each owner goes once its blocking dependents are gone."""
    marker = json.dumps(FOREGROUND)
    for rt in _storages(registry):
        for body in registry.store.select_raw(rt.storage_key)[0]:
            if marker not in body:
                continue
            owner = json.loads(body)
            if FOREGROUND not in (owner["metadata"].get("finalizers") or []):
                continue
            collect_dependents(registry, owner, "Foreground")
            try:
                _release_foreground(registry, rt, owner)
            except (NotFound, Conflict):
                continue


def _storages(registry: Registry) -> list[ResourceType]:
    """One served type per storage (built-in and custom): what owners and namespaces hold."""
    return list({rt.storage_key: rt for rt in reversed(registry.catalog.served())}.values())


def finalize_definitions(registry: Registry) -> None:
    """The CRD controllers' pass: statuses, then the objects of CRDs being deleted."""
    lifecycle.update_statuses(registry.store)

    def delete_object(crd_name: str, namespace: str, name: str) -> None:
        types = registry.catalog.of_definition(crd_name)
        try:
            if types:
                delete(registry, types[0], namespace, name, {}, {})
            else:  # no version served: nothing can read it, so nothing waits on it
                crd = registry.store.get(CRD_KEY, "", crd_name) or {}
                registry.store.delete(lifecycle.storage_key(crd), namespace, name)
        except (errors.ApiError, NotFound, Conflict):
            pass

    lifecycle.finalize(registry.store, delete_object)


def collect_dependents(registry: Registry, owner: Object, policy: str | None) -> None:
    """Delete (or orphan) the objects whose ownerReferences name `owner`."""
    uid = owner["metadata"].get("uid")
    namespace = owner["metadata"].get("namespace") or ""
    for rt, dependent in _dependents(registry, owner):
        refs = dependent["metadata"].get("ownerReferences") or []
        name = dependent["metadata"]["name"]
        if dependent["metadata"].get("deletionTimestamp") and policy != "Orphan":
            continue  # being deleted already
        try:
            if policy == "Orphan":
                dependent["metadata"]["ownerReferences"] = [
                    r for r in refs if r.get("uid") != uid]
                registry.store.update(rt.storage_key, namespace if rt.namespaced else "",
                                      name, dependent,
                                      int(dependent["metadata"]["resourceVersion"]))
            else:
                delete(registry, rt, namespace, name, {"propagationPolicy": policy}, {})
        except (errors.ApiError, NotFound, Conflict):
            continue


def delete_collection(registry: Registry, rt: ResourceType, namespace: str | None,
                      options: Object, query: dict[str, str]) -> Object:
    items = registry.store.select(rt.storage_key, namespace)[0]
    matches = matcher(parse_labels(query.get("labelSelector", "")),
                      parse_fields(query.get("fieldSelector", ""), rt.storage_key,
                                   custom_objects.selectable_fields(rt)))
    deleted = []
    for obj in filter(matches, items):
        meta = obj["metadata"]
        try:
            deleted.append(delete(registry, rt, meta.get("namespace") or "", meta["name"],
                                  options, query))
        except errors.ApiError as exc:
            if exc.code != 404:
                raise
    for obj in deleted:
        obj.pop("apiVersion", None)
        obj.pop("kind", None)
    return {"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
            "metadata": {"resourceVersion": str(registry.store.revision)}, "items": deleted}


def _mark_namespace(registry: Registry, ns: Object) -> Object:
    meta = ns["metadata"]
    if meta.get("name") in ("default", "kube-system", "kube-public"):
        raise errors.ApiError(403, "Forbidden", f'namespaces "{meta["name"]}" is forbidden: this '
                              "namespace may not be deleted", {"kind": "namespaces",
                                                               "name": meta["name"]})
    if not meta.get("deletionTimestamp"):
        meta["deletionTimestamp"] = times.now()
        meta["deletionGracePeriodSeconds"] = 0
        ns.setdefault("status", {})["phase"] = "Terminating"
        registry.store.update("core/namespaces", "", meta["name"], ns,
                              int(meta["resourceVersion"]))
    return ns


def finalize_namespaces(registry: Registry) -> None:
    """Empty each terminating namespace; delete it once nothing is left in it."""
    for ns in registry.store.select("core/namespaces")[0]:
        meta = ns["metadata"]
        if not meta.get("deletionTimestamp"):
            continue
        name, remaining = meta["name"], 0
        for rt in _storages(registry):
            if not rt.namespaced or rt.group == "events.k8s.io":
                continue
            for obj in registry.store.select(rt.storage_key, name)[0]:
                remaining += 1
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    delete(registry, rt, name, obj["metadata"]["name"], {}, {})
                except (errors.ApiError, NotFound, Conflict):
                    continue
        if remaining == 0:
            try:
                registry.store.delete("core/namespaces", "", name)
            except NotFound:
                continue
