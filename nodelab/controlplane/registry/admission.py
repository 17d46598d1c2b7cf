"""The admission plugins a write passes, in kube-apiserver's order: the mutating ones before
validation (ServiceAccount's image pull secrets, Priority, LimitRanger's defaults,
DefaultIngressClass, DefaultStorageClass and PersistentVolumeClaimResize), RBAC's escalation
check and NodeRestriction's check of a node's own Node, and the validating ones after it
(LimitRanger's checks, then ResourceQuota)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodelab.controlplane import errors
from nodelab.controlplane.auth import escalation, node_object_admission
from nodelab.controlplane.registry import (
    ingress_class,
    priority,
    quota_admission,
    storage_admission,
    strategies,
)
from nodelab.controlplane.resources import ResourceType
from nodelab.controlplane.storage.store import Store
from nodelab.kube.objects import Object

if TYPE_CHECKING:
    from nodelab.controlplane.auth.access import Identity


def mutating(store: Store, rt: ResourceType, obj: Object, old: Object | None) -> None:
    """Admission that reads other objects: the ServiceAccount plugin's image pull
    secrets, the Priority plugin (`priority.py`) and LimitRanger's defaults
    (`quota_admission.py`) for new pods; PriorityClasses; DefaultIngressClass
    (`ingress_class.py`) for new Ingresses; DefaultStorageClass and
    PersistentVolumeClaimResize (`storage_admission.py`) for claims."""
    if rt.storage_key == "core/pods" and old is None:
        spec = obj.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        account = store.get("core/serviceaccounts", obj["metadata"].get("namespace", ""),
                                 str(spec.get("serviceAccountName") or "default"))
        strategies.admit_image_pull_secrets(obj, account)
        priority.admit_pod(obj, store.select(priority.STORAGE_KEY)[0])
        quota_admission.default_resources(store, rt, obj)
    elif rt.storage_key == priority.STORAGE_KEY:
        priority.admit_class(obj, store.select(priority.STORAGE_KEY)[0], old is None)
    elif rt.storage_key == ingress_class.INGRESS_KEY and old is None:
        ingress_class.admit_ingress(obj, store.select(ingress_class.CLASS_KEY)[0])
    elif rt.storage_key == storage_admission.CLAIM_KEY:
        storage_admission.admit_claim(obj, old,
                                      store.select(storage_admission.CLASS_KEY)[0])

def confirm_no_escalation(store: Store, rt: ResourceType, namespace: str, url_name: str,
                          obj: Object, old: Object | None,
                          requester: Identity | None) -> None:
    """RBAC objects only: refuse one that grants more than `requester` holds
    (`auth/escalation.py`). In-process writers (no requester) are the API server itself."""
    if requester is None or rt.group != escalation.GROUP:
        return
    refusal = escalation.refusal(store, escalation.Write(
        requester.user, requester.groups, rt.plural, namespace if rt.namespaced else "",
        url_name, obj, old))
    if refusal is not None:
        raise refusal

def node_object(rt: ResourceType, obj: Object, old: Object | None,
                requester: Identity | None) -> None:
    """NodeRestriction's check of a node's own Node as the write leaves it (labels,
    taints, configSource: `auth/node_object_admission.py`)."""
    node = requester.node_name if requester is not None else None
    if node is None or rt.storage_key != "core/nodes":
        return
    why = node_object_admission.node_denial(node, obj, old)
    if why is not None:
        name = str((obj.get("metadata") or {}).get("name") or "")
        raise errors.admission_forbidden(rt.plural, rt.group, name, why)

def validating(store: Store, rt: ResourceType, obj: Object, old: Object | None,
               subresource: str, query: dict[str, str]) -> None:
    """The validating admission plugins, after validation: LimitRanger's checks, then
    ResourceQuota, which charges the quotas the object counts against."""
    if rt.custom is None and not subresource:
        quota_admission.check_limits(store, rt, obj, old)
    quota_admission.charge_quota(store, rt, obj, old, subresource,
                                 bool(query.get("dryRun")))
