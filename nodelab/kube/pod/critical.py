"""The marks of a critical pod, known to the API server and the kubelet alike: the mirror pod
annotation (upstream's v1.MirrorPodAnnotationKey; the Node authorizer admits only mirror pods
from a node, the kubelet never evicts one) and the lowest system-critical priority (upstream's
scheduling.SystemCriticalPriority: system-cluster-critical, system-node-critical above)."""

from __future__ import annotations

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
