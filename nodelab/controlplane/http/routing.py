"""URL paths to resource requests, as kube-apiserver's RequestInfoFactory parses them.

    /api/v1/pods                                   all namespaces
    /api/v1/namespaces/{ns}/pods/{name}/{sub}      a namespaced object (and subresource)
    /apis/{group}/{version}/...                    the same for named groups
    /api/v1/namespaces/{name}[/status|/finalize]   the Namespace object itself
    /api/v1/watch/...                              the deprecated watch prefix
    /api/v1/nodes/{name}/proxy/{path}              the node's kubelet, proxied
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nodelab.controlplane import errors
from nodelab.controlplane.resources import ResourceType, lookup
from nodelab.kubewire.labels import pinned_value

Lookup = Callable[[str, str, str], "ResourceType | None"]

__all__ = ["ResourceRequest", "lookup", "parse"]


@dataclass(frozen=True)
class ResourceRequest:
    resource: ResourceType
    namespace: str | None  # None: all namespaces (or a cluster-scoped resource)
    name: str
    subresource: str
    watch_prefix: bool
    proxy_path: str = ""  # what follows nodes/{name}/proxy/


def parse(path: str, find: Lookup = lookup) -> ResourceRequest | None:
    """The resource request a path names, or None if it names no resource; `find` is the
    lookup of the types served (the built-in table by default; the server passes its
    catalog, which adds custom resources)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch = bool(rest) and rest[0] == "watch"
    if watch:
        rest = rest[1:]
    if not rest:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and find(group, version, rest[2]):
        namespace, rest = rest[1], rest[2:]
    plural, name = rest[0], rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    proxy_path = ""
    if (group, plural, subresource) == ("", "nodes", "proxy"):
        proxy_path = "/" + "/".join(rest[3:]) + ("/" if path.endswith("/") and rest[3:] else "")
    elif len(rest) > 3:
        return None
    rt = find(group, version, plural)
    if rt is None:
        return None
    if rt.namespaced and namespace is None and name:
        return None
    if not rt.namespaced:
        namespace = None
    return ResourceRequest(rt, namespace, name, subresource, watch, proxy_path)


def request_verb(method: str, name: str, query: dict[str, str], watch_prefix: bool) -> str:
    """The verb of a resource request, as RequestInfoFactory resolves it from the method,
    whether a name is given, and `watch` (the query or the deprecated /watch/ prefix)."""
    if method == "GET":
        if watch_prefix or query.get("watch") in ("true", "1"):
            return "watch"
        return "get" if name else "list"
    verbs: dict[str, Callable[[], str]] = {
        "POST": lambda: "create",
        "PUT": lambda: "update",
        "PATCH": lambda: "patch",
        "DELETE": lambda: "delete" if name else "deletecollection",
    }
    chooser = verbs.get(method)
    if chooser is None:
        raise errors.method_not_allowed(f"{method} is not supported")
    return chooser()


def selector_name(verb: str, query: dict[str, str]) -> str:
    """The name a list or watch is about when its fieldSelector requires `metadata.name` to be
    one value (`metadata.name=x`, also among other terms), as RequestInfoFactory sets it: a
    request for one object is authorized as one (the Node authorizer, RBAC's resourceNames).
    Empty for other verbs, other selectors, or a name that is no valid path segment."""
    name = selector_value(verb, query, "metadata.name")
    return name if name not in (".", "..") and "/" not in name and "%" not in name else ""


def selector_value(verb: str, query: dict[str, str], field: str) -> str:
    """The one value a list or watch's fieldSelector requires `field` to have (`field=x` or
    `field==x`, also among other terms): what the Node authorizer asks of a node's pod list
    (`spec.nodeName=<node>`). Empty for other verbs or when no term pins `field`."""
    if verb not in ("list", "watch"):
        return ""
    return pinned_value(query.get("fieldSelector", ""), field)


def path_verb(method: str) -> str:
    """The verb of a non-resource request (upstream's lower-cased HTTP method)."""
    return {"GET": "get", "HEAD": "get", "POST": "post", "PUT": "put", "PATCH": "patch",
            "DELETE": "delete"}.get(method, method.lower())
