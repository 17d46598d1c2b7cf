"""The verbs of any resource (get, list, create, patch, replace, delete) over one `request`.

A client implements `request(method, path, body, content_type, query)`, plain JSON dicts in and
out; these verbs build the resource's path from `RESOURCES` and call it. nodelab's small
client (`restclient.RestClient`) and the official one (`rest.Rest`) both are `ResourceVerbs`,
so a daemon's code is the same over either. Patches name their format as client-go does
(`types.PatchType`): the official Python client sends a strategic merge patch for a typed
`patch_*` call with an object body, the kubelet's and controllers' choice too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from nodelab.kube.resources import path

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an API error from either client (None: the server was not reached,
    or the error is not an API answer)."""
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) and status else None


class ResourceVerbs(ABC):
    @abstractmethod
    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, str] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        """Send one request; the answer's JSON (an error status raises the client's error).
        `timeout` in seconds; None is the client's default."""

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.request("GET", path(kind, namespace, name))

    def list(self, kind: str, namespace: str | None = None, *, field_selector: str = "",
             label_selector: str = "") -> dict[str, Any]:
        """A list of `kind` (in every namespace when `namespace` is None)."""
        query = {key: value for key, value in (("fieldSelector", field_selector),
                                               ("labelSelector", label_selector)) if value}
        return self.request("GET", path(kind, namespace), query=query or None)

    def create(self, kind: str, namespace: str | None, body: dict[str, Any],
               subresource_of: str | None = None, subresource: str | None = None
               ) -> dict[str, Any]:
        url = path(kind, namespace, subresource_of, subresource) if subresource_of else path(
            kind, namespace)
        return self.request("POST", url, body)

    def patch(self, kind: str, namespace: str | None, name: str, body: Any,
              subresource: str | None = None, content_type: str = MERGE_PATCH
              ) -> dict[str, Any]:
        return self.request("PATCH", path(kind, namespace, name, subresource), body, content_type)

    def replace(self, kind: str, namespace: str | None, name: str, body: dict[str, Any],
                subresource: str | None = None) -> dict[str, Any]:
        return self.request("PUT", path(kind, namespace, name, subresource), body)

    def delete(self, kind: str, namespace: str | None, name: str,
               body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Delete; None when it was already gone (404)."""
        try:
            return self.request("DELETE", path(kind, namespace, name), body)
        except Exception as exc:
            if status_of(exc) == 404:
                return None
            raise
