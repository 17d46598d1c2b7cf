"""Which pods the kubelet treats as critical (upstream's pkg/kubelet/types IsCriticalPod): pure.

A pod is critical when it is static, a mirror pod (annotation `kubernetes.io/config.mirror`),
or of system-critical priority (`spec.priority` >= 2000000000, system-cluster-critical and
system-node-critical). The eviction manager never evicts one (`evictPod`: "cannot evict a
critical pod") and admits one under any pressure (`Admit`). nodelab's kubelet has no static
pods (no `staticPodPath`: every pod comes from the API server, source `api`), so a pod here
is critical by its mirror annotation or its priority.
"""

from __future__ import annotations

from nodelab.kube.objects import ObjectView
from nodelab.kube.pod.critical import MIRROR_ANNOTATION, SYSTEM_CRITICAL_PRIORITY


def is_critical(pod: ObjectView) -> bool:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    priority = (pod.get("spec") or {}).get("priority")
    return MIRROR_ANNOTATION in annotations or (
        priority is not None and int(priority) >= SYSTEM_CRITICAL_PRIORITY)
