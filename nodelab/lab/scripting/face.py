"""What a script needs of a lab that is up: an API client, apply, wait, and its nodes.

`Lab` takes these methods from `LabScripting` (docs/api.md has a runnable example of each):
- `lab.api()`: an official-client `ApiClient` for the lab's API server, as admin (the lab's
  kubeconfig); use it with the generated APIs (`CoreV1Api(lab.api())`) or as a context manager;
- `lab.apply(manifest)`: server-side apply of a dict, YAML text or a file, with several
  documents (`manifests.py`);
- `lab.wait_for(kind, name, condition)`: wait as `kubectl wait --for` (`wait_for.py`);
- `lab.node(name)`: one node (`lab_node.py`): `.exec(argv)` in its network namespace, `.cri()`
  a CRI client on its runtime's socket, `.logs(daemon)` its daemons' logs.
"""

from __future__ import annotations

from typing import Any

from kubernetes import config as k8s_config
from kubernetes.client import ApiClient
from kubernetes.dynamic import DynamicClient

from nodelab.errors import NodelabError
from nodelab.lab.paths import LabPaths
from nodelab.lab.scripting.lab_node import LabNode
from nodelab.lab.scripting.manifests import Manifest, apply_manifests, load_manifests
from nodelab.lab.scripting.wait_for import Condition
from nodelab.lab.scripting.wait_for import wait_for as wait_until
from nodelab.lab.topology import Topology


class LabScripting:
    """The scripting methods of `Lab` (which provides `name`, `paths` and `topology`)."""

    paths: LabPaths

    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def topology(self) -> Topology:
        raise NotImplementedError

    def api(self) -> ApiClient:
        """An official-client ApiClient for the lab's API server, with the lab's admin
        kubeconfig (`close()` it, or use `with lab.api() as api:`)."""
        kubeconfig = self.paths.kubeconfig
        if not kubeconfig.exists():
            raise NodelabError(f"lab {self.name} has no kubeconfig at {kubeconfig}: is it up "
                               f"(`nodelab up --name {self.name}`)?")
        client: ApiClient = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig))
        return client

    def _dynamic(self, api: ApiClient) -> DynamicClient:
        cache = self.paths.tmp / "discovery.json"  # goes with the lab at `down`
        cache.parent.mkdir(parents=True, exist_ok=True)
        return DynamicClient(api, cache_file=str(cache))  # type: ignore[no-untyped-call]

    def apply(self, manifest: Manifest, namespace: str = "default") -> list[dict[str, Any]]:
        """Server-side apply `manifest` (a dict, YAML/JSON text with one or more documents, or
        a path to a .yaml/.yml/.json file); objects without a namespace go to `namespace`.
        Returns the objects as the API server stored them."""
        objects = load_manifests(manifest)  # refused before anything is sent
        with self.api() as api:
            return apply_manifests(self._dynamic(api), objects, namespace)

    def wait_for(self, kind: str, name: str, condition: Condition = "Ready", *,
                 namespace: str = "default", api_version: str | None = None,
                 timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the object `kind`/`name` meets `condition` ("Ready",
        "condition=Available", "jsonpath={.status.phase}=Succeeded", "delete", or a callable
        on the object); return the object. A NodelabError says what was last seen if
        `timeout` seconds pass first."""
        with self.api() as api:
            return wait_until(self._dynamic(api), kind, name, condition, namespace=namespace,
                              api_version=api_version, timeout=timeout)

    def node(self, name: str) -> LabNode:
        """The lab's node `name` (`node1`, `node2`, ...)."""
        return LabNode(self.topology.node(name), self.paths)

    def nodes(self) -> list[LabNode]:
        """Every node of the lab, in order."""
        return [LabNode(plan, self.paths) for plan in self.topology.nodes]


__all__ = ["LabScripting"]
