"""What happens to an object of each kind on its way into storage (upstream: strategies and
admission plugins), as functions of the object and what is stored already.

Create: defaulting, the `ServiceAccount` admission plugin (a pod runs as `default` and gets the
projected `kube-api-access-*` volume mounted at /var/run/secrets/kubernetes.io/serviceaccount,
and the account's imagePullSecrets when it names none),
pod status initialisation, service IP/port allocation.
Update: the main resource may not change `status`, the `status` subresource may change nothing
else (as upstream's status strategies); a service keeps its allocated cluster IP.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from nodelab.controlplane.apiextensions import CRD_KEY, custom_objects, definitions
from nodelab.controlplane.errors import Cause
from nodelab.controlplane.registry import (
    allocation,
    defaults,
    storage_admission,
)
from nodelab.controlplane.registry.defaults import storage as storage_defaults
from nodelab.controlplane.registry.label_keys import merge_label_keys
from nodelab.controlplane.registry.objects import random_suffix
from nodelab.controlplane.resources import ResourceType
from nodelab.kube.objects import Object
from nodelab.kubewire import times

if TYPE_CHECKING:
    from nodelab.controlplane.auth.access import Identity


SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_SECONDS = 3607
CSR_KEY = "certificates.k8s.io/certificatesigningrequests"
PDB_KEY = "policy/poddisruptionbudgets"
QUOTA_KEY = "core/resourcequotas"
INGRESS_KEY = "networking.k8s.io/ingresses"


def service_account_volume() -> Object:
    return {
        "name": f"kube-api-access-{random_suffix()}",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP,
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }


def admit_service_account(pod: Object) -> None:
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    spec["serviceAccount"] = spec["serviceAccountName"]
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = [c for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])
                  if isinstance(c, dict)]
    if any(m.get("mountPath") == SA_MOUNT for c in containers
           for m in c.get("volumeMounts") or [] if isinstance(m, dict)):
        return
    volume = service_account_volume()
    spec.setdefault("volumes", []).append(volume)
    for container in containers:
        container.setdefault("volumeMounts", []).append(
            {"name": volume["name"], "readOnly": True, "mountPath": SA_MOUNT})


def admit_image_pull_secrets(pod: Object, account: Object | None) -> None:
    """The ServiceAccount plugin: a pod that names no imagePullSecrets gets its service
    account's."""
    spec = pod.get("spec")
    if isinstance(spec, dict) and not spec.get("imagePullSecrets") and account is not None \
            and account.get("imagePullSecrets"):
        spec["imagePullSecrets"] = copy.deepcopy(account["imagePullSecrets"])


def before_create(rt: ResourceType, obj: Object, existing_services: list[Object],
                  requester: Identity | None = None) -> list[Cause]:
    """Default and admit a new object; causes if allocation fails. `requester`: who asked
    (None: the control plane itself)."""
    if rt.custom is not None:
        custom_objects.refuse_create_while_terminating(rt)
        custom_objects.prepare_for_create(rt, obj)
        return []
    if rt.storage_key == CRD_KEY:
        definitions.prepare_for_create(obj)
        return []
    if rt.storage_key == CSR_KEY and requester is not None:
        record_requester(obj, requester)
    if rt.storage_key == "core/pods":
        admit_service_account(obj)
        merge_label_keys(obj)
        obj["status"] = {}
    if rt.storage_key in (CSR_KEY, PDB_KEY, QUOTA_KEY, INGRESS_KEY):  # create cannot set status
        obj.pop("status", None)
    storage_defaults.prepare_for_create(rt.storage_key, obj)
    storage_admission.admit_protection(rt.storage_key, obj)
    defaults.apply_defaults(rt.storage_key, obj)
    if rt.storage_key == "core/services":
        return allocation.allocate(obj, existing_services)
    return []


def record_requester(csr: Object, identity: Identity) -> None:
    """A new CSR names who asked (spec.username/groups), as upstream: never the client's say,
    whether it was POSTed or created by server-side apply."""
    spec = csr.get("spec")
    if not isinstance(spec, dict):
        return  # validation names the missing spec
    spec["username"] = identity.user
    spec["groups"] = list(identity.groups)
    spec.pop("uid", None)
    spec.pop("extra", None)


def before_update(rt: ResourceType, new: Object, old: Object, subresource: str,
                  existing_services: list[Object]) -> list[Cause]:
    """Restrict what an update may change; default the result."""
    if rt.custom is not None:
        custom_objects.prepare_for_update(rt, new, old, subresource)
        return []
    if rt.storage_key == CRD_KEY:
        definitions.prepare_for_update(new, old, subresource)
        return []
    if rt.storage_key == CSR_KEY and subresource in ("status", "approval"):
        csr_status_update(new, old, subresource)
        return []
    if subresource == "status":
        status = new.get("status")
        new.clear()
        new.update(copy.deepcopy(old))
        if status is not None:
            new["status"] = status
        else:
            new.pop("status", None)
        storage_defaults.prepare_for_status_update(rt.storage_key, new, old)
        return []
    if subresource == "ephemeralcontainers":
        containers = (new.get("spec") or {}).get("ephemeralContainers")
        new.clear()
        new.update(copy.deepcopy(old))
        new.setdefault("spec", {})["ephemeralContainers"] = containers or []
        defaults.apply_defaults(rt.storage_key, new)
        return []
    if rt.has_status and "status" in old:
        new["status"] = copy.deepcopy(old["status"])
    elif rt.has_status:
        new.pop("status", None)
    if rt.storage_key == "core/pods":
        spec, old_spec = new.get("spec"), old.get("spec") or {}
        if isinstance(spec, dict):
            for key in ("serviceAccountName", "serviceAccount", "volumes", "nodeName",
                        "priority", "preemptionPolicy"):  # the last two: Priority admission
                if key not in spec and key in old_spec:
                    spec[key] = copy.deepcopy(old_spec[key])
            _carry_mounts(spec, old_spec)
    defaults.apply_defaults(rt.storage_key, new)
    if rt.storage_key == "core/services":
        return allocation.carry_over(new, old, existing_services)
    return []


def csr_status_update(new: Object, old: Object, subresource: str) -> None:
    """A CSR's `approval` subresource changes only the conditions (kubectl certificate
    approve); its `status` subresource (the signer) changes the status but not the decision."""
    wanted = copy.deepcopy(new.get("status") or {})
    new.clear()
    new.update(copy.deepcopy(old))
    if not isinstance(wanted, dict) or not isinstance(wanted.get("conditions", []), list):
        new["status"] = wanted  # malformed: validation names the field (422)
        return
    status = new.setdefault("status", {})
    old_conditions = status.get("conditions") or []
    conditions = list(wanted.get("conditions") or [])
    if subresource == "approval":
        status["conditions"] = conditions
    else:
        decisions = [c for c in old_conditions if c.get("type") in ("Approved", "Denied")]
        status["conditions"] = decisions + [
            c for c in conditions
            if not isinstance(c, dict) or c.get("type") not in ("Approved", "Denied")]
        if "certificate" in wanted:
            status["certificate"] = wanted["certificate"]
    stamp = times.now()
    for condition in status["conditions"]:
        if isinstance(condition, dict):
            condition.setdefault("lastUpdateTime", stamp)
            condition.setdefault("lastTransitionTime", stamp)
            condition.setdefault("status", "True")
    if not status["conditions"]:
        del status["conditions"]


def _carry_mounts(spec: Object, old_spec: Object) -> None:
    """A replaced pod keeps its injected service-account mount (kubectl replace omits it)."""
    old_mounts = {c.get("name"): [m for m in c.get("volumeMounts") or []
                                  if m.get("mountPath") == SA_MOUNT]
                  for c in old_spec.get("containers") or [] if isinstance(c, dict)}
    for container in spec.get("containers") or []:
        if not isinstance(container, dict):
            continue
        mounts = container.setdefault("volumeMounts", [])
        for mount in old_mounts.get(container.get("name"), []):
            if mount not in mounts:
                mounts.append(mount)
        if not mounts:
            del container["volumeMounts"]
