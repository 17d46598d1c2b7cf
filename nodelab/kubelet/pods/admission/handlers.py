"""The kubelet's admit handlers in upstream's order (kubelet.go adds them so): the eviction
manager's (`pressure.py`), the sysctls (`security/sysctls.py`), then the predicates
(`predicates.py`). The first refusal is the answer; pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.pods.admission.predicates import admit
from nodelab.kubelet.pods.admission.pressure import admit_under_pressure
from nodelab.kubelet.pods.admission.result import Rejection
from nodelab.kubelet.pods.security import sysctls


def admit_pod(pod: ObjectView, node: ObjectView, pressure: Collection[str],
              peers: Sequence[ObjectView], allowed_unsafe_sysctls: Iterable[str] = ()
              ) -> Rejection | None:
    """Why the node cannot admit `pod` now, or None: `pressure` is the eviction manager's
    conditions, `peers` the pods admitted before it (`predicates.admitted_peers`)."""
    refusal = admit_under_pressure(pod, pressure)
    if refusal is not None:
        return refusal
    forbidden = sysctls.forbidden(pod, allowed_unsafe_sysctls)
    if forbidden is not None:
        return Rejection(sysctls.FORBIDDEN_REASON, forbidden)
    return admit(pod, node, peers)
