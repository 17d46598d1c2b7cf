"""A pod's DNS configuration (its resolv.conf), formed as the kubelet's `dns.Configurer` does.

Upstream: `pkg/kubelet/network/dns/dns.go` (`GetPodDNS`). The base is the node's resolv.conf
(`resolvConf`, default /etc/resolv.conf); then by `dnsPolicy`:

| dnsPolicy               | hostNetwork | servers    | searches                   | options |
|-------------------------|-------------|------------|----------------------------|---------|
| ClusterFirst (default)  | false       | clusterDNS | ns.svc.D svc.D D + node's  | ndots:5 |
| ClusterFirst            | true        | node's     | node's                     | node's  |
| ClusterFirstWithHostNet | any         | clusterDNS | ns.svc.D svc.D D + node's  | ndots:5 |
| Default                 | any         | node's     | node's                     | node's  |
| None                    | any         | dnsConfig  | dnsConfig                  | dnsConfig |

A cluster policy on a kubelet without `clusterDNS` falls back to Default with a
`MissingClusterDNS` warning. `dnsConfig` is then appended (duplicates dropped; an option of the
same name replaces the base's). Limits as upstream's expanded DNS config: 3 nameservers, 32
search domains, 2048 characters in the search line, no search domain over 253 characters;
what is cut is said in a `DNSConfigForming` warning. The warnings are returned with the plan
for the caller to post as events on the pod.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_CHARS = 2048
MAX_DOMAIN_LENGTH = 253
DEFAULT_OPTIONS = ("ndots:5",)
MAX_RESOLV_CONF_BYTES = 10 * 1024 * 1024  # upstream reads at most this much


@dataclass(frozen=True)
class ResolvConf:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class PodDNS:
    servers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[str, ...]
    warnings: tuple[tuple[str, str], ...] = field(default=())  # (reason, message)

    def cri(self) -> dict[str, list[str]]:
        """The CRI `DNSConfig` message as JSON."""
        return {"servers": list(self.servers), "searches": list(self.searches),
                "options": list(self.options)}


def parse_resolv_conf(text: str) -> ResolvConf:
    """Nameservers accumulate; the last `search` and `options` lines win (upstream's parser)."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.strip().split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "nameserver" and len(words) >= 2:
            servers.append(words[1])
        elif words[0] == "search":
            searches = [w.removesuffix(".") for w in words[1:]]
        elif words[0] == "options":
            options = words[1:]
    return ResolvConf(tuple(servers), tuple(searches), tuple(options))


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _merge_options(base: Sequence[str], extra: Sequence[dict[str, Any]]) -> list[str]:
    merged: dict[str, str] = {}
    for text in base:
        name, _, value = text.partition(":")
        merged[name] = value
    for option in extra:
        merged[str(option.get("name") or "")] = str(option.get("value") or "")
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _fit_searches(searches: list[str]) -> tuple[list[str], bool]:
    cut = len(searches) > MAX_SEARCH_PATHS
    fitted = [s for s in searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_DOMAIN_LENGTH]
    cut = cut or len(fitted) < min(len(searches), MAX_SEARCH_PATHS)
    while fitted and len(" ".join(fitted)) > MAX_SEARCH_CHARS:
        fitted.pop()
        cut = True
    return fitted, cut


def pod_dns(pod: dict[str, Any], node: ResolvConf, cluster_dns: Sequence[str],
            cluster_domain: str) -> PodDNS:
    """The DNS configuration the kubelet sends in the pod sandbox's CRI config."""
    spec = pod.get("spec") or {}
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    warnings: list[tuple[str, str]] = []
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork"))
    servers, searches, options = list(node.servers), list(node.searches), list(node.options)
    if policy == "None":
        servers, searches, options = [], [], []
    elif cluster and cluster_dns:
        servers = list(cluster_dns)
        if cluster_domain:
            searches = _unique([f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}",
                                cluster_domain, *searches])
        options = list(DEFAULT_OPTIONS)
    elif cluster:
        warnings.append(("MissingClusterDNS",
                         f"kubelet does not have ClusterDNS IP configured and cannot create Pod "
                         f"using \"{policy}\" policy. Falling back to \"Default\" policy."))
    custom = spec.get("dnsConfig")
    if custom:
        servers = _unique([*servers, *(custom.get("nameservers") or [])])
        searches = _unique([*searches, *(custom.get("searches") or [])])
        options = _merge_options(options, custom.get("options") or [])
    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append(("DNSConfigForming",
                         "Nameserver limits were exceeded, some nameservers have been omitted, "
                         f"the applied nameserver line is: {' '.join(servers)}"))
    searches, cut = _fit_searches(searches)
    if cut:
        warnings.append(("DNSConfigForming",
                         "Search Line limits were exceeded, some search paths have been omitted, "
                         f"the applied search line is: {' '.join(searches)}"))
    return PodDNS(tuple(servers), tuple(searches), tuple(options), tuple(warnings))


def read_resolv_conf(path: str) -> ResolvConf:
    """The node's resolver settings; none when `resolvConf` is empty or the file is missing."""
    if not path:
        return ResolvConf()
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return parse_resolv_conf(file.read(MAX_RESOLV_CONF_BYTES))
    except FileNotFoundError:
        return ResolvConf()
