"""UDP conntrack cleanup: forget flows to endpoints that went away.

TCP notices a dead backend (resets, timeouts); UDP does not. A conntrack entry keeps sending a
UDP "connection" (a DNS client's 5-tuple, say) to the endpoint it was first DNATed to, even
after that pod is gone, for as long as packets keep flowing. So after each sync, as upstream
kube-proxy does, the proxy deletes:

- flows to a UDP service port's ClusterIP/external IP that were DNATed to an endpoint that is no
  longer usable (`conntrack -D -p udp --orig-dst <vip> --dst-nat <endpoint ip>`), and the same
  for its NodePort (`--dport <nodePort> --dst-nat <endpoint ip>`);
- flows to a UDP service port that had no endpoints and now has some: those packets were
  rejected and the (negative) entries would keep them from the new endpoints.

`plan_conntrack_cleanup` computes the `conntrack` command lines (pure); `clear_conntrack` runs
them. `conntrack -D` exits 1 when nothing matched, which is not an error here. Like upstream's
`CleanStaleEntries`, which reads the sync's service and endpoint update results, it can be
limited to the Services that changed (`services`, the change tracking's set): the others have
the same endpoints, so nothing of theirs is stale.
"""

from __future__ import annotations

from collections.abc import Collection

from nodelab.proxy.model import ProxyNode, ProxyState
from nodelab.proxy.node_namespace import NodeNamespace
from nodelab.proxy.servicemap import (
    ServicePort,
    ServicePortName,
    build_endpoints_map,
    build_service_ports,
    categorize_endpoints,
)

_Usable = dict[ServicePortName, tuple[ServicePort, set[str]]]


def _usable(state: ProxyState, node: ProxyNode) -> _Usable:
    ports = build_service_ports(state)
    eps = build_endpoints_map(state, node.name)
    out: _Usable = {}
    for name, svc in ports.items():
        if svc.protocol != "udp":
            continue
        cats = categorize_endpoints(eps.get(name, ()), svc)
        out[name] = (svc, {ep.ip for ep in cats.reachable})
    return out


def _only(state: ProxyState, services: Collection[tuple[str, str]]) -> ProxyState:
    return ProxyState(
        {k: v for k, v in state.services.items() if k in services},
        {k: v for k, v in state.slices.items() if (v.namespace, v.service_name) in services},
    )


def plan_conntrack_cleanup(
    before: ProxyState | None,
    after: ProxyState,
    node: ProxyNode,
    services: Collection[tuple[str, str]] | None = None,
) -> list[list[str]]:
    """The `conntrack -D` command lines this change of state calls for (UDP only), looking
    only at `services` (namespace, name) when given."""
    if before is None:
        return []
    if services is not None:
        if not services:
            return []
        before, after = _only(before, services), _only(after, services)
    old = _usable(before, node)
    new = _usable(after, node)
    commands: list[list[str]] = []
    for name, (svc, old_ips) in sorted(old.items()):
        new_ips = new[name][1] if name in new else set()
        vips = (svc.cluster_ip, *svc.external_ips)
        for ip in sorted(old_ips - new_ips):
            for vip in vips:
                commands.append(
                    ["conntrack", "-D", "-p", "udp", "--orig-dst", vip, "--dst-nat", ip]
                )
            if svc.node_port:
                commands.append(
                    ["conntrack", "-D", "-p", "udp", "--dport", str(svc.node_port), "--dst-nat", ip]
                )
    for name, (svc, new_ips) in sorted(new.items()):
        old_ips = old[name][1] if name in old else set()
        if new_ips and not old_ips:
            for vip in (svc.cluster_ip, *svc.external_ips):
                commands.append(["conntrack", "-D", "-p", "udp", "--orig-dst", vip])
            if svc.node_port:
                commands.append(["conntrack", "-D", "-p", "udp", "--dport", str(svc.node_port)])
    return commands


def clear_conntrack(commands: list[list[str]], ns: NodeNamespace) -> list[str]:
    """Run the cleanup commands in `ns`; return the errors (exit codes other than 0 and 1)."""
    errors = []
    for argv in commands:
        done = ns.run(argv, check=False)
        if done.returncode not in (0, 1):
            errors.append(f"{' '.join(argv)}: {done.stderr.strip()}")
    return errors
