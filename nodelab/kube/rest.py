"""Plain-JSON requests through the official client: any resource, dicts in and dicts out.

The generated API classes turn objects into models; controllers and plans work on the JSON
the API server sends. `Rest` builds the path of a resource from `RESOURCES` and sends the
request through the official `ApiClient` (so authentication, TLS and the server come from the
kubeconfig as for every other call). Failures raise the client's `ApiException`.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from nodelab.kube.resources import RESOURCES, Resource, path

__all__ = ["JSON_PATCH", "MERGE_PATCH", "RESOURCES", "STRATEGIC_PATCH", "Resource", "Rest", "path"]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Rest:
    def __init__(self, api_client: ApiClient) -> None:
        self.api_client = api_client

    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, str] | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        method_, url, header_params, serialized, _post = self.api_client.param_serialize(
            method=method, resource_path=url_path, query_params=list((query or {}).items()),
            header_params=headers, body=body, auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(method_, url, header_params=header_params,
                                            body=serialized)
        data: bytes = response.read()  # type: ignore[no-untyped-call]
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response, body=data.decode(errors="replace"))
        parsed: dict[str, Any] = json.loads(data) if data else {}
        return parsed

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
        return self.request("GET", path(kind, namespace, name))

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
        try:
            return self.request("DELETE", path(kind, namespace, name), body)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
