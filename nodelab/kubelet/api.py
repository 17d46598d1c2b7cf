"""The kubelet's view of the Kubernetes API: the official client, from a kubeconfig.

The kubelet does not know whether it talks to nodelab's embedded API server, kind or any
other cluster: it loads a kubeconfig with the official `kubernetes` client and uses the typed
APIs. `ApiClients` bundles the three it needs; `status_of` reads an `ApiException`'s code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from nodelab.errors import NodelabError


@dataclass(frozen=True)
class ApiClients:
    api: Any
    core: Any
    coordination: Any

    @classmethod
    def from_kubeconfig(cls, path: Path) -> ApiClients:
        try:
            loader: Any = k8s_config.new_client_from_config
            api = loader(config_file=str(path))
        except Exception as exc:  # the client raises several unrelated types
            raise NodelabError(f"cannot load kubeconfig {path}: {exc}") from exc
        return cls(api, k8s.CoreV1Api(api), k8s.CoordinationV1Api(api))

    def close(self) -> None:
        self.api.close()


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an API error (None when the server was not reached)."""
    if isinstance(exc, k8s.ApiException):
        return int(exc.status) if exc.status else None
    return None


def to_dict(api: ApiClients, obj: Any) -> dict[str, Any]:
    """A typed client object as the plain JSON dict the API server sent."""
    result: dict[str, Any] = api.api.sanitize_for_serialization(obj)
    return result
