"""The proxy's input read once from a running cluster: every Service and EndpointSlice.

`read_state(api)` lists both kinds (one request each) and converts them as the proxy's informer
does; an object the proxy would refuse (`InvalidObject`) is left out, as the informer leaves it
out. This is what a plan of a live lab is rendered from (`nodelab proxy-plan`), without
touching the lab's kube-proxy.
"""

from __future__ import annotations

from nodelab.kube.resources import path
from nodelab.kube.restclient import ApiAccess
from nodelab.proxy.model import EndpointSlice, ProxyState, Service
from nodelab.proxy.object_checks import InvalidObject
from nodelab.proxy.objects import endpoint_slice_from_k8s, service_from_k8s


def read_state(api: ApiAccess) -> ProxyState:
    """All Services and EndpointSlices the API server has, as the proxy sees them."""
    services: list[Service] = []
    for obj in api.request("GET", path("services")).get("items") or []:
        try:
            svc = service_from_k8s(obj)
        except InvalidObject:
            continue
        if svc is not None:
            services.append(svc)
    slices: list[EndpointSlice] = []
    for obj in api.request("GET", path("endpointslices")).get("items") or []:
        try:
            eps = endpoint_slice_from_k8s(obj)
        except InvalidObject:
            continue
        if eps is not None:
            slices.append(eps)
    return ProxyState.of(services, slices)
