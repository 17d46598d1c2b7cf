"""`Lab.wait_for`: wait until an object meets a condition, as `kubectl wait --for` does.

A condition is one of (`parse_condition` turns the text into a check, pure):
- `"Ready"` or `"condition=Ready"`: `status.conditions` has type Ready with status True
  (`"condition=Ready=False"` waits for False);
- `"jsonpath={.status.phase}=Running"`: the value at a dotted path equals the text (only
  dotted field paths; kubectl's full JSONPath is refused with an error);
- `"delete"`: the object is gone;
- any callable taking the object (a dict) and returning true when it is met.

The wait polls the API server (a GET every 0.2 s) until the check is met or `timeout` seconds
pass; then a `NodelabError` names the object, the condition and what was last seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.dynamic.resource import Resource

from nodelab.errors import NodelabError
from nodelab.kube.objects import Object

Condition = str | Callable[[Object], bool]
POLL = 0.2


@dataclass(frozen=True)
class Check:
    """A parsed condition: `met(obj)` (obj None: the object does not exist)."""

    text: str
    met: Callable[[Object | None], bool]


def _condition_is(kind: str, status: str) -> Callable[[Object | None], bool]:
    def met(obj: Object | None) -> bool:
        conditions = ((obj or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == kind and str(c.get("status")).lower() == status.lower()
                   for c in conditions)
    return met


def _field(obj: Mapping[str, Any] | None, path: list[str]) -> Any:
    value: Any = obj
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def parse_condition(condition: Condition) -> Check:
    if callable(condition):
        call = condition
        return Check(getattr(call, "__name__", "the condition"),
                     lambda obj: obj is not None and bool(call(obj)))
    text = condition.strip()
    if text == "delete":
        return Check(text, lambda obj: obj is None)
    if text.startswith("jsonpath="):
        expression, sep, expected = text[len("jsonpath="):].partition("}=")
        path = expression.removeprefix("{.").split(".")
        if not sep or not expression.startswith("{.") or not all(
                p.isidentifier() or p.replace("-", "_").isidentifier() for p in path):
            raise NodelabError(f"wait condition {text!r}: only jsonpath={{.a.b}}=VALUE with "
                               "a dotted field path is supported")
        return Check(text, lambda obj: obj is not None
                     and str(_field(obj, path)) == expected)
    kind, _, status = text.removeprefix("condition=").partition("=")
    if not kind or not kind.replace("-", "").isalnum():
        raise NodelabError(f"wait condition {text!r}: use a condition type (Ready, "
                           "condition=Available, condition=Ready=False), "
                           "jsonpath={.status.phase}=Running, delete, or a callable")
    return Check(text, _condition_is(kind, status or "True"))


def last_seen(obj: Mapping[str, Any]) -> str:
    """A line on an object's status: its phase and conditions (what a wait looks at)."""
    status = obj.get("status") or {}
    parts = [f"phase {status['phase']}"] if status.get("phase") else []
    conditions = [f"{c.get('type')}={c.get('status')}" for c in status.get("conditions") or []]
    if conditions:
        parts.append("conditions " + " ".join(conditions))
    return ", ".join(parts) or "no status yet"


def find_resource(client: DynamicClient, kind: str, api_version: str | None = None) -> Resource:
    """The resource of `kind` (Pod, pod, pods or po; `api_version` when the kind is in several
    groups)."""
    wanted = kind.lower()
    found = [r for r in client.resources.search(**({"api_version": api_version}
                                                   if api_version else {}))
             if isinstance(r, Resource) and r.name and r.kind and "/" not in r.name
             and wanted in (r.kind.lower(), r.name, (r.singular_name or "").lower(),
                            *(s.lower() for s in r.short_names or []))]
    if not found:
        raise NodelabError(f"the API server has no resource of kind {kind!r} "
                           "(see `kubectl api-resources`)")
    resource: Resource = found[0]
    return resource


def wait_for(client: DynamicClient, kind: str, name: str, condition: Condition, *,
             namespace: str = "default", api_version: str | None = None,
             timeout: float = 60.0) -> Object:
    """Wait until the object meets the condition; the object then ({} once deleted)."""
    check = parse_condition(condition)
    try:
        resource = find_resource(client, kind, api_version)
    except ResourceNotFoundError as exc:
        raise NodelabError(f"unknown kind {kind!r}: {exc}") from exc
    target = namespace if resource.namespaced else None
    where = f"{resource.kind} {namespace + '/' if target else ''}{name}"
    deadline = time.monotonic() + timeout
    last: Object | None = None
    while True:
        try:
            last = resource.get(name=name, namespace=target).to_dict()
        except NotFoundError:
            last = None
        if check.met(last):
            return last or {}
        if time.monotonic() >= deadline:
            seen = "it does not exist" if last is None else last_seen(last)
            raise NodelabError(f"{where}: {check.text} not met after {timeout:.0f}s ({seen})")
        time.sleep(POLL)
