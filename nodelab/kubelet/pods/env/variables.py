"""A container's environment, as the kubelet computes it (upstream's `makeEnvironmentVariables`).

In order:
1. `envFrom`: every key of each ConfigMap/Secret, with `prefix` prepended; keys that are not
   valid environment variable names (`[-._a-zA-Z][-._a-zA-Z0-9]*`, the v1.31 rule) are skipped
   and named in one `InvalidEnvironmentVariableNames` warning per source;
2. `env`, in order, replacing earlier values: a `value` has its `$(VAR)` references expanded
   (`expansion.py`) against what is declared so far, then the service variables; a `valueFrom`
   reads `fieldRef` / `resourceFieldRef` (`downward.py`), `configMapKeyRef` or `secretKeyRef`;
3. the service variables (`service_env.py`) not already declared.

A missing ConfigMap or Secret, or a missing key, is skipped when the reference is `optional`;
otherwise the container cannot be created: `EnvError` carries upstream's message
(`configmap "x" not found`, `couldn't find key k in ConfigMap ns/x`), which the worker reports
as `CreateContainerConfigError` and retries on its next sync, so the container starts once the
source exists. Until the kubelet has listed the services once, nothing is computed (upstream
waits the same way, so `KUBERNETES_SERVICE_HOST` is never missing).

`command_and_args(container, envs)` expands `$(VAR)` in command and args against the final
environment (upstream's `ExpandContainerCommandAndArgs`).

Pure: the API objects come through `EnvSources.fetch`, the node's facts as plain values.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from nodelab.errors import NodelabError
from nodelab.kube.objects import ObjectView
from nodelab.kubelet.pods.downward import (
    DownwardError,
    container_named,
    field_value,
    resource_value,
)
from nodelab.kubelet.pods.env.expansion import expand, mapping_for
from nodelab.kubelet.pods.env.service_env import service_env

# (kind, namespace, name) -> object or None (404)
Fetch = Callable[[str, str, str], ObjectView | None]
ENV_VAR_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
INVALID_NAMES = "InvalidEnvironmentVariableNames"


class EnvError(NodelabError):
    """The environment cannot be built (the container waits in CreateContainerConfigError)."""


@dataclass(frozen=True)
class EnvSources:
    """What a container's environment is made from, besides the pod itself."""

    fetch: Fetch
    services: Sequence[ObjectView] | None = ()  # None: the services have not been listed yet
    pod_ips: Sequence[str] = ()
    host_ips: Sequence[str] = ()
    allocatable: Mapping[str, int] = field(default_factory=dict)


@dataclass
class EnvPlan:
    envs: list[tuple[str, str]]
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (reason, message) events

    def as_dict(self) -> dict[str, str]:
        return dict(self.envs)


_KINDS = {"configmaps": ("configmap", "ConfigMap"), "secrets": ("secret", "Secret")}


class _Objects:
    """Each ConfigMap/Secret fetched once per computation, as upstream's local caches."""

    def __init__(self, fetch: Fetch, namespace: str) -> None:
        self.fetch, self.namespace = fetch, namespace
        self.seen: dict[tuple[str, str], ObjectView | None] = {}

    def data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        """The object's data (secrets decoded); None if it is missing and optional."""
        if (kind, name) not in self.seen:
            try:
                self.seen[(kind, name)] = self.fetch(kind, self.namespace, name)
            except Exception as exc:  # the API is unreachable: retried on the next sync
                raise EnvError(f"couldn't get {_KINDS[kind][0]} {self.namespace}/{name}: "
                               f"{exc}") from exc
        found = self.seen[(kind, name)]
        if found is None:
            if optional:
                return None
            raise EnvError(f'{_KINDS[kind][0]} "{name}" not found')
        if kind == "configmaps":
            return dict(found.get("data") or {})
        return {k: base64.b64decode(v).decode(errors="replace")
                for k, v in (found.get("data") or {}).items()}


def _from_sources(pod: ObjectView, container: ObjectView, objects: _Objects,
                  warnings: list[tuple[str, str]]) -> dict[str, str]:
    declared: dict[str, str] = {}
    namespace = pod["metadata"]["namespace"]
    for source in container.get("envFrom") or []:
        kind, ref = (("configmaps", source["configMapRef"]) if source.get("configMapRef")
                     else ("secrets", source.get("secretRef") or {}))
        name = ref.get("name", "")
        data = objects.data(kind, name, bool(ref.get("optional")))
        if data is None:
            continue
        invalid = []
        for key, value in data.items():
            key = (source.get("prefix") or "") + key
            if not ENV_VAR_NAME.match(key):
                invalid.append(key)
                continue
            declared[key] = value
        if invalid:
            warnings.append((INVALID_NAMES, (
                f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom "
                f"{_KINDS[kind][0]} {namespace}/{name} were skipped since they are "
                "considered invalid environment variable names.")))
    return declared


def _value_from(pod: ObjectView, container: ObjectView, source: ObjectView, objects: _Objects,
                sources: EnvSources) -> str | None:
    namespace = pod["metadata"]["namespace"]
    if "fieldRef" in source:
        return field_value(pod, source["fieldRef"].get("fieldPath", ""), sources.pod_ips,
                           sources.host_ips)
    if "resourceFieldRef" in source:
        ref = source["resourceFieldRef"]
        target = container_named(pod, ref["containerName"]) if ref.get("containerName") \
            else container
        return resource_value(pod, target, ref.get("resource", ""), ref.get("divisor"),
                              sources.allocatable)
    for key_ref, kind in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
        if key_ref in source:
            ref = source[key_ref]
            optional = bool(ref.get("optional"))
            data = objects.data(kind, ref.get("name", ""), optional)
            if data is None:
                return None
            if ref.get("key") not in data:
                if optional:
                    return None
                raise EnvError(f"couldn't find key {ref.get('key')} in {_KINDS[kind][1]} "
                               f"{namespace}/{ref.get('name', '')}")
            return data[ref["key"]]
    raise EnvError(f"env valueFrom {sorted(source)} is not supported by nodelab")


def container_env(pod: ObjectView, container: ObjectView, sources: EnvSources) -> EnvPlan:
    """The container's environment (see the module doc for the order and the errors)."""
    if sources.services is None:
        raise EnvError("services have not yet been read at least once, cannot construct "
                       "envvars")
    spec = pod.get("spec") or {}
    services = service_env(sources.services, pod["metadata"]["namespace"],
                           spec.get("enableServiceLinks", True) is not False)
    objects = _Objects(sources.fetch, pod["metadata"]["namespace"])
    warnings: list[tuple[str, str]] = []
    declared = _from_sources(pod, container, objects, warnings)
    lookup = mapping_for(declared, services)
    for item in container.get("env") or []:
        value = item.get("value") or ""
        if value:
            value = expand(value, lookup)
        elif item.get("valueFrom"):
            try:
                found = _value_from(pod, container, item["valueFrom"], objects, sources)
            except DownwardError as exc:
                raise EnvError(str(exc)) from exc
            if found is None:
                continue
            value = found
        declared[item["name"]] = value
    envs = list(declared.items()) + [(k, v) for k, v in services.items() if k not in declared]
    return EnvPlan(envs, warnings)


def command_and_args(container: ObjectView, envs: Sequence[tuple[str, str]]
                     ) -> tuple[list[str], list[str]]:
    """Command and args with `$(VAR)` expanded against the container's final environment."""
    lookup = mapping_for(dict(envs))
    return ([expand(c, lookup) for c in container.get("command") or []],
            [expand(a, lookup) for a in container.get("args") or []])
