"""The kubelet's one view of its own Node: upstream's node informer (kubelet.go's `nodeLister`,
an informer on `nodes?fieldSelector=metadata.name=<node>`).

Two readers need the Node as the API server has it, and both read it here instead of asking
the API server each time:
- admission, for every new pod (upstream's `getNodeAnyWay` reads the lister): allocatable,
  labels, taints and features are checked against it (`pods/admission/`);
- the status loop, before each update (upstream's `tryUpdateNodeStatus` reads the lister on
  its first try): a resource a cluster added to `capacity` becomes allocatable.

Until the reflector has listed once, and only then, `get()` sends a GET. The agent starts the
reflector right after registration, so its first list already holds the Node. A Node deleted
after registration is not re-created (as upstream): `get()` says so.
"""

from __future__ import annotations

import threading

from nodelab.errors import NodelabError
from nodelab.kube.objects import Object
from nodelab.kube.reflector import Reflector
from nodelab.kube.store import Store
from nodelab.kubelet.api import ApiAccess


class NodeNotFound(NodelabError):
    """The Node is not in the API server any more."""


class NodeInformer:
    def __init__(self, api: ApiAccess, name: str) -> None:
        self.api = api
        self.name = name
        self.store = Store()
        self.reflector = Reflector("nodes", api.lister("nodes"), self.store.handle,
                                   field_selector=f"metadata.name={name}")
        self.gets = 0  # the GETs sent because the reflector had not listed yet
        self._lock = threading.Lock()

    def start(self) -> NodeInformer:
        self.reflector.start()
        return self

    def stop(self) -> None:
        self.reflector.stop()

    @property
    def synced(self) -> bool:
        return self.reflector.synced.is_set()

    def get(self) -> Object:
        """The Node (shared with the store: read it, do not change it)."""
        if not self.synced:
            with self._lock:
                self.gets += 1
            return self.api.get("nodes", None, self.name)
        node = self.store.get("nodes", "", self.name)
        if node is None:
            raise NodeNotFound(f"node {self.name} is not in the API server: it was deleted "
                               "after this kubelet registered it (restart the kubelet to "
                               "register it again)")
        return node
