"""Discovery documents (/api, /apis, /api/v1, /apis/<group>/<version>) and /version.

kubectl learns every resource name, short name, verb and subresource from these, so they are
computed from the types served (`resources.RESOURCES` and the custom resources of
Established CRDs, `apiextensions/catalog.py`: each group's versions in upstream's preferred
order, the first being `preferredVersion`), plus the groups of service-backed APIServices
(`Aggregated`, the aggregation layer: listed in `/apis` and `/apis/<group>`, their resources
in aggregated discovery from what the backend's own discovery answered; `/apis/<group>/
<version>` itself is proxied to the backend). Both the legacy format and aggregated
discovery (`as=APIGroupDiscoveryList`, what client-go asks for first) are served.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Sequence
from dataclasses import dataclass

from nodelab.controlplane.resources import GROUPS, RESOURCES, ResourceType
from nodelab.kube.objects import Object

KUBERNETES_VERSION = "v1.37.0"
_STATUS_VERBS = ["get", "patch", "update"]
_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str, list[str]]] = {
    # name: (group, version, kind, verbs); "" group/version = the parent's
    "binding": ("", "", "Binding", ["create"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "log": ("", "", "Pod", ["get"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "attach": ("", "", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "", "PodPortForwardOptions", ["create", "get"]),
    "ephemeralcontainers": ("", "", "Pod", _STATUS_VERBS),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "scale": ("autoscaling", "v1", "Scale", _STATUS_VERBS),
    "proxy": ("", "", "NodeProxyOptions", ["create", "delete", "get", "patch", "update"]),
}


Groups = Sequence[tuple[str, Sequence[str]]]  # (group, versions, preferred first)
BUILTIN_GROUPS: Groups = tuple((g, (v,)) for g, v in GROUPS)


@dataclass(frozen=True)
class Aggregated:
    """A group/version an APIService with a Service serves (resources: the backend's
    APIResourceList entries, None until its discovery answered)."""

    group: str
    version: str
    group_priority: int
    version_priority: int
    resources: list[Object] | None = None


def _versions(group: str, extra: Sequence[Aggregated]) -> list[Object]:
    """The versions of an aggregated group, highest versionPriority first (upstream's order)."""
    chosen = sorted((a for a in extra if a.group == group),
                    key=lambda a: (-a.version_priority, a.version))
    return [{"groupVersion": f"{group}/{a.version}", "version": a.version} for a in chosen]


def _aggregated_groups(extra: Sequence[Aggregated], served_groups: Groups = BUILTIN_GROUPS
                       ) -> list[str]:
    served = {g for g, _ in served_groups}
    ordered = sorted(extra, key=lambda a: (-a.group_priority, a.group))
    return [g for g in dict.fromkeys(a.group for a in ordered) if g not in served]


def version() -> Object:
    major, minor = KUBERNETES_VERSION[1:].split(".")[:2]
    return {
        "major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
        "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
        "gitVersion": KUBERNETES_VERSION, "gitCommit": "nodelab", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "python" + platform.python_version(),
        "compiler": "nodelab", "platform": f"linux/{platform.machine()}",
    }


def api_versions(server_address: str) -> Object:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(group: str, versions: Sequence[str]) -> Object:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_groups(extra: Sequence[Aggregated] = (), served_groups: Groups = BUILTIN_GROUPS
               ) -> Object:
    groups = [_group(group, versions) for group, versions in served_groups]
    for group in _aggregated_groups(extra, served_groups):
        versions = _versions(group, extra)
        groups.append({"name": group, "versions": versions, "preferredVersion": versions[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str, extra: Sequence[Aggregated] = (),
              served_groups: Groups = BUILTIN_GROUPS) -> Object | None:
    for name, versions in served_groups:
        if name == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}
    if group in _aggregated_groups(extra, served_groups):
        listed = _versions(group, extra)
        return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": listed,
                "preferredVersion": listed[0]}
    return None


def _entry(rt: ResourceType) -> Object:
    entry: Object = {
        "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
        "kind": rt.kind, "verbs": list(rt.verbs),
        "storageVersionHash": hashlib.sha256(rt.storage_key.encode()).hexdigest()[:12],
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def _subresource(rt: ResourceType, sub: str) -> Object:
    group, version_, kind, verbs = _SUBRESOURCE_KINDS.get(sub, ("", "", rt.kind, _STATUS_VERBS))
    entry: Object = {"name": f"{rt.plural}/{sub}", "singularName": "",
                     "namespaced": rt.namespaced, "kind": kind, "verbs": verbs}
    if group:
        entry["group"], entry["version"] = group, version_
    return entry


def resource_list(group: str, version_: str, served: Sequence[ResourceType] = RESOURCES
                  ) -> Object | None:
    selected = [rt for rt in served if (rt.group, rt.version) == (group, version_)]
    if not selected:
        return None
    resources: list[Object] = []
    for rt in selected:
        resources.append(_entry(rt))
        resources.extend(_subresource(rt, sub) for sub in rt.subresources)
    gv = f"{group}/{version_}" if group else version_
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}


AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def wants_aggregated(accept: str) -> bool:
    """Whether the client asked for aggregated discovery (client-go >= 1.26 does first)."""
    return any("as=APIGroupDiscoveryList" in part and "v=v2" in part and "v=v2beta1" not in part
               for part in accept.split(","))


def _aggregated_resource(rt: ResourceType) -> Object:
    entry: Object = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subresources = []
    for sub in rt.subresources:
        group, version_, kind, verbs = _SUBRESOURCE_KINDS.get(
            sub, ("", "", rt.kind, _STATUS_VERBS))
        subresources.append({"subresource": sub, "verbs": verbs, "responseKind": {
            "group": group if group else rt.group, "version": version_ or rt.version,
            "kind": kind}})
    if subresources:
        entry["subresources"] = subresources
    return entry


def _from_resource_list(group: str, version_: str, entries: list[Object]) -> list[Object]:
    """A backend's APIResourceList entries as aggregated-discovery resources."""
    found: dict[str, Object] = {}
    for entry in entries:
        name = str(entry.get("name", ""))
        if "/" in name:
            continue
        item: Object = {
            "resource": name,
            "responseKind": {"group": entry.get("group", group),
                             "version": entry.get("version", version_),
                             "kind": entry.get("kind", "")},
            "scope": "Namespaced" if entry.get("namespaced") else "Cluster",
            "singularResource": entry.get("singularName") or name.rstrip("s"),
            "verbs": list(entry.get("verbs") or []),
        }
        for key in ("shortNames", "categories"):
            if entry.get(key):
                item[key] = list(entry[key])
        found[name] = item
    for entry in entries:
        parent, _, sub = str(entry.get("name", "")).partition("/")
        if sub and parent in found:
            found[parent].setdefault("subresources", []).append({
                "subresource": sub, "verbs": list(entry.get("verbs") or []),
                "responseKind": {"group": entry.get("group", group),
                                 "version": entry.get("version", version_),
                                 "kind": entry.get("kind", "")}})
    return list(found.values())


def aggregated(legacy: bool, extra: Sequence[Aggregated] = (),
               served: Sequence[ResourceType] = RESOURCES,
               served_groups: Groups = BUILTIN_GROUPS) -> Object:
    """The APIGroupDiscoveryList of /api (legacy=True: the core group) or of /apis; an
    aggregated group/version whose backend has not answered yet is left out."""
    groups: Groups = [("", ("v1",))] if legacy else served_groups
    items = []
    for group, versions in groups:
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": [
            {"version": version_, "freshness": "Current",
             "resources": [_aggregated_resource(rt) for rt in served
                           if (rt.group, rt.version) == (group, version_)]}
            for version_ in versions]})
    for group in [] if legacy else _aggregated_groups(extra, served_groups):
        found = [{"version": a.version, "freshness": "Current",
                     "resources": _from_resource_list(group, a.version, a.resources)}
                    for a in sorted((a for a in extra if a.group == group),
                                    key=lambda a: (-a.version_priority, a.version))
                    if a.resources is not None]
        if found:
            items.append({"metadata": {"name": group, "creationTimestamp": None},
                          "versions": found})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}
