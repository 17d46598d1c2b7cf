"""kube-proxy's nftables Service structure read back from a node's kernel.

In nftables mode kube-proxy keeps everything in the table `ip kube-proxy`: the verdict map
`service-ips` sends `clusterIP . proto . port` to a chain `service-<hash>-ns/name/proto/port`,
whose rule `numgen random mod N vmap { 0 : goto endpoint-..., 1 : ... }` picks one of N
endpoint chains with equal chance; each endpoint chain DNATs (`dnat to ip:port`). NodePorts
go through `service-nodeports` the same way. `nft_service_paths` (pure) turns the JSON
ruleset (`nft -j list table ip kube-proxy`) into the same `ServicePath`s the iptables reader
gives. Upstream adds no per-rule counters in this mode, so the packet counts are 0 here; which
endpoint a connection went to comes from conntrack instead (`connections.py`).
"""

from __future__ import annotations

import json
from typing import Any

from nodelab.host.commands import run
from nodelab.host.netlink import in_netns_argv
from nodelab.widgets.nat_rules import EndpointPath, ServicePath

TABLE = "kube-proxy"


def _service_name(chain: str) -> str:
    """`service-AXK6CI2C-demo/web/tcp/http` -> `demo/web:http`."""
    parts = chain.split("-", 2)[-1].split("/")
    return f"{parts[0]}/{parts[1]}:{parts[3]}" if len(parts) == 4 else chain


def nft_service_paths(ruleset: dict[str, Any]) -> tuple[ServicePath, ...]:
    items = ruleset.get("nftables") or []
    maps = {x["map"]["name"]: x["map"] for x in items if "map" in x}
    rules: dict[str, list[list[dict[str, Any]]]] = {}
    for item in items:
        if "rule" in item:
            rules.setdefault(item["rule"]["chain"], []).append(item["rule"].get("expr") or [])

    def endpoint(chain: str, share: float) -> EndpointPath:
        destination = "?"
        for expr in rules.get(chain, []):
            for statement in expr:
                if "dnat" in statement:
                    dnat = statement["dnat"]
                    destination = f"{dnat.get('addr')}:{dnat.get('port')}"
        return EndpointPath(chain, destination, round(share, 4), 0)

    def picks(chain: str) -> list[str]:
        found: list[str] = []
        for expr in rules.get(chain, []):
            for statement in expr:
                vmap = statement.get("vmap") or {}
                data = vmap.get("data") if isinstance(vmap, dict) else None
                if isinstance(data, dict) and "set" in data:
                    found += [pair[1]["goto"]["target"] for pair in data["set"]
                              if isinstance(pair[1], dict) and "goto" in pair[1]]
                if "goto" in statement and statement["goto"]["target"].startswith("endpoint-"):
                    found.append(statement["goto"]["target"])
        return found

    paths = []
    for map_name, label in (("service-ips", "{0}:{2}"), ("service-nodeports", "nodePort {1}")):
        for key, verdict in (maps.get(map_name) or {}).get("elem") or []:
            target = (verdict.get("goto") or verdict.get("jump") or {}).get("target", "")
            if not target.startswith(("service-", "external-")):
                continue
            parts = key.get("concat", []) if isinstance(key, dict) else []
            if map_name == "service-nodeports":
                parts = ["", *parts]
            address = label.format(*parts) if len(parts) >= 3 else str(key)
            chosen = picks(target)
            if not chosen and target.startswith("external-"):
                inner = [s["goto"]["target"] for expr in rules.get(target, []) for s in expr
                         if "goto" in s and s["goto"]["target"].startswith("service-")]
                target = inner[0] if inner else target
                chosen = picks(target)
            endpoints = tuple(endpoint(c, 1 / len(chosen)) for c in chosen)
            paths.append(ServicePath(_service_name(target), address, target, 0, endpoints))
    return tuple(paths)


def read_nft_ruleset(netns: str | None) -> dict[str, Any]:
    """`nft -j list table ip kube-proxy` in `netns`; an empty ruleset when there is none."""
    done = run(in_netns_argv(netns, ["nft", "-j", "list", "table", "ip", TABLE]), check=False)
    if done.returncode != 0:
        return {"nftables": []}
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded
