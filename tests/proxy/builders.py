"""Small constructors for test Services and EndpointSlices (one line per object)."""

from __future__ import annotations

from nodelab.proxy import (
    EndpointSlice,
    ProxyNode,
    ProxyState,
    Service,
    ServicePortSpec,
    SliceEndpoint,
    SlicePort,
)

NODE = ProxyNode("node1")


def service(
    name: str,
    ip: str,
    port: int = 80,
    *,
    ns: str = "demo",
    port_name: str = "http",
    protocol: str = "TCP",
    node_port: int = 0,
    **kw: object,
) -> Service:
    svc_type = "NodePort" if node_port else "ClusterIP"
    spec = ServicePortSpec(port, protocol, port_name, node_port)
    return Service(ns, name, ip, (spec,), type=svc_type, **kw)  # type: ignore[arg-type]


def endpoints(
    svc: str,
    *ips: str,
    port: int = 8080,
    ns: str = "demo",
    port_name: str = "http",
    protocol: str = "TCP",
    node: str = "node1",
    not_ready: tuple[str, ...] = (),
    terminating: tuple[str, ...] = (),
    nodes: dict[str, str] | None = None,
    slice_name: str | None = None,
) -> EndpointSlice:
    eps = tuple(
        SliceEndpoint(
            (ip,),
            ready=ip not in not_ready and ip not in terminating,
            serving=ip not in not_ready,
            terminating=ip in terminating,
            node_name=(nodes or {}).get(ip, node),
        )
        for ip in ips
    )
    return EndpointSlice(
        ns, slice_name or f"{svc}-abcde", svc, eps, (SlicePort(port, port_name, protocol),)
    )


def state(*objs: Service | EndpointSlice) -> ProxyState:
    return ProxyState.of(
        [o for o in objs if isinstance(o, Service)],
        [o for o in objs if isinstance(o, EndpointSlice)],
    )
