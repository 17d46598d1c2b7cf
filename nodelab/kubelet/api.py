"""The kubelet's view of the Kubernetes API: a client from a kubeconfig.

The kubelet does not know whether it talks to nodelab's embedded API server, kind or any
other cluster: it loads a kubeconfig and sends plain JSON through `nodelab.kube.restclient`
(nodelab's small client; the official one only for a kubeconfig that needs it, such as an exec
plugin), with the verbs of `nodelab.kube.verbs`. Errors carry the HTTP status (`status_of`).
Writes of objects the kubelet shares with other writers (the Node, its status, a pod's status)
are strategic merge patches, as upstream's kubelet sends them.
"""

from __future__ import annotations

from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.kube.restclient import ApiAccess, client_for
from nodelab.kube.verbs import STRATEGIC_PATCH, status_of

__all__ = ["STRATEGIC_PATCH", "ApiAccess", "connect", "status_of"]


def connect(kubeconfig: Path) -> ApiAccess:
    """A client for `kubeconfig`'s current context; NodelabError if it cannot be read."""
    try:
        return client_for(kubeconfig)
    except NodelabError:
        raise
    except Exception as exc:  # the official client's loader raises several unrelated types
        raise NodelabError(f"cannot load kubeconfig {kubeconfig}: {exc}") from exc
