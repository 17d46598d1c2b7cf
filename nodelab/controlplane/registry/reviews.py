"""Who am I, and may I: SelfSubjectReview and SelfSubjectAccessReview.

`kubectl auth whoami` creates an `authentication.k8s.io/v1` SelfSubjectReview and prints the
user and groups the server authenticated; `kubectl auth can-i VERB RESOURCE` creates an
`authorization.k8s.io/v1` SelfSubjectAccessReview. Neither is stored. The answer comes from
the same `auth.authorize` every request goes through, so a node identity learns exactly what
NodeRestriction lets it do.
"""

from __future__ import annotations

from nodelab.controlplane import errors
from nodelab.controlplane.auth.access import Identity, authorize
from nodelab.controlplane.resources import RESOURCES
from nodelab.controlplane.storage.store import Store
from nodelab.kube.objects import Object
from nodelab.kube.times import now


def self_subject_review(identity: Identity) -> Object:
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": now()},
            "status": {"userInfo": {"username": identity.user,
                                    "groups": list(identity.groups)}}}


def self_subject_access_review(identity: Identity, body: Object, store: Store) -> Object:
    spec = body.get("spec") or {}
    attributes = spec.get("resourceAttributes") or {}
    allowed, reason, denied = True, "nodelab authorizes every authenticated user (no RBAC)", ""
    plural = attributes.get("resource", "")
    group = attributes.get("group", "")
    for rt in RESOURCES:
        if rt.plural == plural and rt.group == group:
            try:
                authorize(identity, attributes.get("verb", "get"), rt,
                          attributes.get("namespace", ""), attributes.get("name", ""),
                          attributes.get("subresource", ""), store, None)
            except errors.ApiError as exc:
                allowed, reason = False, ""
                denied = exc.message
            break
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": now()}, "spec": spec,
            "status": {"allowed": allowed, "reason": reason,
                       **({"denied": True} if denied else {})}}
