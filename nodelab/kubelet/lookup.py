"""Finding a pod's sandbox and containers in the runtime, by the labels every kubelet sets.

A kubelet labels each sandbox and container it creates through CRI with
`io.kubernetes.pod.namespace`, `io.kubernetes.pod.name`, `io.kubernetes.pod.uid` and, for
containers, `io.kubernetes.container.name` (containerd and CRI-O show them in `crictl`).
The kubelet server finds `/containerLogs/{ns}/{pod}/{container}` and `/exec/...` that way,
so it works for any pod a kubelet started on any CRI runtime. The newest attempt is the
current container; the one before is `--previous`.
"""

from __future__ import annotations

from nodelab.cri import api_pb2 as api
from nodelab.errors import NodelabError
from nodelab.kubelet.cri import CRIClient

NS_LABEL = "io.kubernetes.pod.namespace"
NAME_LABEL = "io.kubernetes.pod.name"
CONTAINER_LABEL = "io.kubernetes.container.name"


class NotFound(NodelabError):
    """The pod or container is not on this node."""


def containers_of(cri: CRIClient, namespace: str, pod: str,
                  container: str) -> list[api.Container]:
    """The attempts of a container, newest first."""
    found = cri.list_containers({NS_LABEL: namespace, NAME_LABEL: pod,
                                 CONTAINER_LABEL: container})
    return sorted(found, key=lambda c: (c.metadata.attempt, c.created_at), reverse=True)


def find_container(cri: CRIClient, namespace: str, pod: str, container: str,
                   previous: bool = False) -> api.Container:
    attempts = containers_of(cri, namespace, pod, container)
    if previous:
        if len(attempts) < 2:
            raise NotFound(f'previous terminated container "{container}" in pod "{pod}" '
                           "not found")
        return attempts[1]
    if not attempts:
        raise NotFound(f'container "{container}" in pod "{pod}" is not available')
    return attempts[0]


def find_sandbox(cri: CRIClient, namespace: str, pod: str) -> api.PodSandbox:
    sandboxes = cri.list_pod_sandboxes({NS_LABEL: namespace, NAME_LABEL: pod})
    ready = [s for s in sandboxes if s.state == 0] or sandboxes
    if not ready:
        raise NotFound(f'pod "{pod}" in namespace "{namespace}" has no sandbox on this node')
    return sorted(ready, key=lambda s: s.created_at, reverse=True)[0]
