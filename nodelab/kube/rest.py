"""Plain-JSON requests through the official client: any resource, dicts in and dicts out.

The generated API classes turn objects into models; controllers and plans work on the JSON
the API server sends. `Rest` sends each request of `ResourceVerbs` through the official
`ApiClient` (so authentication, TLS and the server come from the kubeconfig as for every other
call). Failures raise the client's `ApiException`. Daemons use `restclient.client_for`
instead, which needs the official client (and its ~50 MiB) only for kubeconfigs nodelab's
small client cannot read.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from nodelab.kube.resources import RESOURCES, Resource, path
from nodelab.kube.verbs import JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, ResourceVerbs

__all__ = ["JSON_PATCH", "MERGE_PATCH", "RESOURCES", "STRATEGIC_PATCH", "Resource", "Rest", "path"]


class Rest(ResourceVerbs):
    def __init__(self, api_client: ApiClient) -> None:
        self.api_client = api_client

    def request(self, method: str, url_path: str, body: Any = None,
                content_type: str = "application/json",
                query: dict[str, str] | None = None,
                timeout: float | None = None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        method_, url, header_params, serialized, _post = self.api_client.param_serialize(
            method=method, resource_path=url_path, query_params=list((query or {}).items()),
            header_params=headers, body=body, auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(method_, url, header_params=header_params,
                                            body=serialized, _request_timeout=timeout)
        data: bytes = response.read()  # type: ignore[no-untyped-call]
        if not 200 <= response.status < 300:
            raise ApiException(http_resp=response, body=data.decode(errors="replace"))
        parsed: dict[str, Any] = json.loads(data) if data else {}
        return parsed
