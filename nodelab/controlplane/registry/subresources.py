"""The action subresources: pods/binding, */scale, serviceaccounts/token.

- `binding` (what a scheduler POSTs) sets `spec.nodeName` once; binding a bound pod is 409.
- `eviction` (a delete that respects PodDisruptionBudgets) is `eviction.py`.
- `scale` reads and writes `spec.replicas` through an `autoscaling/v1` Scale object (a custom
  resource: the paths of its CRD's `subresources.scale`).
- `token` issues a service-account JWT (TokenRequest), optionally bound to a pod.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane import errors
from nodelab.controlplane.apiextensions import custom_objects
from nodelab.controlplane.auth.tokens import TokenIssuer
from nodelab.controlplane.registry import decoding, patches, strategicpatch
from nodelab.controlplane.registry.rest import Registry
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.store import Conflict
from nodelab.kube import schema
from nodelab.kube.objects import Object
from nodelab.kubewire import times


def bind(registry: Registry, rt: ResourceType, namespace: str, name: str, body: Object) -> Object:
    target = (body.get("target") or {}).get("name")
    if not target:
        raise errors.invalid("Binding", name, "", [errors.Cause(
            "target.name", "FieldValueRequired", "Required value")])
    with registry.write_lock:
        pod = registry.store.get(rt.storage_key, namespace, name)
        if pod is None:
            raise errors.not_found("pods", name)
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict("pods", name, "", "pod is being deleted, cannot be assigned "
                                  "to a host")
        if (pod.get("spec") or {}).get("nodeName"):
            raise errors.conflict("pods", name, "", f"pod {name} is already assigned to node "
                                  f'"{pod["spec"]["nodeName"]}"')
        pod.setdefault("spec", {})["nodeName"] = target
        conditions = pod.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True",
                           "lastTransitionTime": times.now(), "lastProbeTime": None})
        registry.store.update(rt.storage_key, namespace, name, pod,
                              int(pod["metadata"]["resourceVersion"]))
    return _success()


def _success() -> Object:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "code": 201}


def get_scale(registry: Registry, rt: ResourceType, namespace: str, name: str) -> Object:
    obj = registry.get(rt, namespace, name)
    meta = obj["metadata"]
    labels = (obj.get("spec") or {}).get("selector") or {}
    if rt.kind != "ReplicationController":  # core/v1 selectors are plain maps
        labels = labels.get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    if rt.custom is not None:  # the paths its CRD names
        wanted, current, selector = custom_objects.scale_of(rt, obj)
        obj = {"spec": {"replicas": wanted}, "status": {"replicas": current}}
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": name, "namespace": namespace, "uid": meta.get("uid"),
                     "resourceVersion": meta.get("resourceVersion"),
                     "creationTimestamp": meta.get("creationTimestamp")},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": selector},
    }


def set_scale(registry: Registry, rt: ResourceType, namespace: str, name: str,
              scale: Object, query: dict[str, str]) -> Object:
    scale_schema = schema.for_kind("autoscaling", "v1", "Scale")
    found = decoding.check(scale_schema, scale) if scale_schema else decoding.Findings()
    if found.type_error:
        raise errors.bad_request('Scale in version "v1" cannot be handled as a Scale: '
                                 f"{found.type_error}")
    # ScaleSpec.replicas is `omitempty`: a Scale of 0 arrives without it (kubectl scale
    # --current-replicas=0 --replicas=0 sends the Scale it read back)
    replicas = (scale.get("spec") or {}).get("replicas") or 0
    if replicas < 0:
        raise errors.invalid("Scale", name, "autoscaling", [errors.Cause(
            "spec.replicas", "FieldValueInvalid",
            f"Invalid value: {replicas}: must be greater than or equal to 0")])
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    for _ in range(10):
        obj = registry.get(rt, namespace, name)
        if rv and rv != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, name, rt.group, "the object has been modified; "
                                  "please apply your changes to the latest version and try again")
        if rt.custom is not None:
            custom_objects.set_replicas(rt, obj, replicas)
        else:
            obj.setdefault("spec", {})["replicas"] = replicas
        try:
            registry.update(rt, namespace, name, obj, query)
        except (errors.ApiError, Conflict) as exc:
            if isinstance(exc, errors.ApiError) and exc.reason != "Conflict":
                raise
            continue
        break
    return get_scale(registry, rt, namespace, name)


def patch_scale(registry: Registry, rt: ResourceType, namespace: str, name: str,
                kind: str, patch: Any, query: dict[str, str]) -> Object:
    current = get_scale(registry, rt, namespace, name)
    if kind == "json":
        scale = patches.json_patch(current, patch)
    elif kind == "strategic":
        scale = strategicpatch.apply(current, patch,
                                     schema.for_kind("autoscaling", "v1", "Scale"))
    else:
        scale = patches.merge_patch(current, patch)
    scale.get("metadata", {}).pop("resourceVersion", None)
    return set_scale(registry, rt, namespace, name, scale, query)


def _bound_pod(registry: Registry, namespace: str, account: str, ref: Object) -> dict[str, str]:
    """The pod a TokenRequest binds to, as upstream's token REST checks it: it exists, runs as
    that service account, and is the one the reference's uid names (when given)."""
    name = str(ref.get("name", ""))
    found = registry.store.get("core/pods", namespace, name)
    if found is None:
        raise errors.not_found("pods", name)
    if ((found.get("spec") or {}).get("serviceAccountName") or "default") != account:
        raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to pod '
                                 "running with different serviceaccount name.")
    uid = str(found["metadata"].get("uid", ""))
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.conflict("Pod", name, "", f"the UID in the bound object reference "
                              f"({ref['uid']}) does not match the UID in record. The object "
                              "might have been deleted and then recreated")
    return {"name": name, "uid": uid}


def request_token(registry: Registry, issuer: TokenIssuer, namespace: str, name: str,
                  body: Object) -> Object:
    sa = registry.store.get("core/serviceaccounts", namespace, name)
    if sa is None:
        raise errors.not_found("serviceaccounts", name)
    spec = body.get("spec") or {}
    seconds = int(spec.get("expirationSeconds") or 3600)
    if seconds < 600:
        raise errors.invalid("TokenRequest", name, "authentication.k8s.io", [errors.Cause(
            "spec.expirationSeconds", "FieldValueInvalid",
            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")])
    bound = spec.get("boundObjectRef") or {}
    pod = None
    if bound.get("kind") == "Pod":
        pod = _bound_pod(registry, namespace, name, bound)
    token, expires = issuer.issue(namespace, name, sa["metadata"]["uid"],
                                  list(spec.get("audiences") or []), seconds, pod)
    import datetime

    moment = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    return {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace,
                     "creationTimestamp": None},
        "spec": {**spec, "expirationSeconds": seconds,
                 "audiences": list(spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"])},
        "status": {"token": token, "expirationTimestamp": times.format_time(moment)},
    }
