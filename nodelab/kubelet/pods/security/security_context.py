"""Pod and container security contexts, as the kubelet turns them into CRI (upstream's
`pkg/securitycontext` and `kuberuntime/security_context.go`).

- The **effective** context of a container is the pod's `securityContext` overlaid with the
  container's own for the fields both have (`runAsUser`, `runAsGroup`, `runAsNonRoot`,
  `seccompProfile`, `seLinuxOptions`, `appArmorProfile`, `windowsOptions`); the container wins.
- CRI's `LinuxContainerSecurityContext`: `runAsUser`/`runAsGroup`, `privileged`,
  `readonlyRootfs`, capabilities add/drop, `noNewPrivs` (set only when
  `allowPrivilegeEscalation` is explicitly false), masked and read-only `/proc` paths (upstream's
  lists for `procMount: Default`), the seccomp profile, the pod's namespaces, and the
  supplemental groups: `fsGroup` first, then `supplementalGroups`, with
  `supplementalGroupsPolicy` (`Merge` adds the image's `/etc/group` memberships, `Strict` does
  not).
- seccomp: the container's profile, else the pod's, else `Unconfined` (upstream's default
  while `seccompDefault` is off); `Localhost` profiles are files under the kubelet's
  `<root>/seccomp/` directory, named relative to it.
- namespaces: `hostNetwork`, `hostIPC`, `hostPID` give NODE; `shareProcessNamespace` gives one
  PID namespace for the pod (POD); otherwise each container has its own (CONTAINER).
- `runAsNonRoot` is checked by the kubelet before it creates the container (upstream's
  `verifyRunAsNonRoot`): a `runAsUser` of 0, or an image user that is root or a name (which
  cannot be checked), refuse the container with upstream's message; it waits in
  `CreateContainerConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nodelab.errors import NodelabError
from nodelab.kube.objects import ObjectView

MERGED = ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "seLinuxOptions",
          "appArmorProfile", "windowsOptions")
DEFAULT_MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
DEFAULT_READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger")


class SecurityContextError(NodelabError):
    """The container may not run as asked (it waits in CreateContainerConfigError)."""


def pod_format(pod: ObjectView) -> str:
    """upstream's `format.Pod`: `name_namespace(uid)`."""
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('name')}_{metadata.get('namespace')}({metadata.get('uid')})"


def effective(pod: ObjectView, container: ObjectView) -> dict[str, Any]:
    """The container's security context with the pod's merged in (the container wins)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    result = dict(container.get("securityContext") or {})
    for name in MERGED:
        if name not in result and name in pod_sc:
            result[name] = pod_sc[name]
    return result


def verify_run_as_non_root(pod: ObjectView, container: ObjectView, image_uid: int | None,
                           image_username: str) -> None:
    """Raise if `runAsNonRoot` forbids how the container would run (upstream's check)."""
    sc = effective(pod, container)
    if not sc.get("runAsNonRoot"):
        return
    where = f'(pod: "{pod_format(pod)}", container: {container["name"]})'
    if sc.get("runAsUser") is not None:
        if int(sc["runAsUser"]) == 0:
            raise SecurityContextError(f"container's runAsUser breaks non-root policy {where}")
        return
    if image_uid is not None and image_uid == 0:
        raise SecurityContextError(f"container has runAsNonRoot and image will run as root "
                                   f"{where}")
    if image_uid is None and image_username:
        raise SecurityContextError(
            f"container has runAsNonRoot and image has non-numeric user ({image_username}), "
            f"cannot verify user is non-root {where}")


def namespace_options(pod: ObjectView) -> dict[str, str]:
    spec = pod.get("spec") or {}
    pid = "NODE" if spec.get("hostPID") else "POD" if spec.get("shareProcessNamespace") \
        else "CONTAINER"
    return {"network": "NODE" if spec.get("hostNetwork") else "POD",
            "pid": pid, "ipc": "NODE" if spec.get("hostIPC") else "POD"}


def seccomp(profile: ObjectView | None, seccomp_root: Path) -> dict[str, str]:
    """CRI's SecurityProfile for a pod or container `seccompProfile` (None: Unconfined)."""
    kind = (profile or {}).get("type") or "Unconfined"
    if kind == "Localhost":
        return {"profileType": "Localhost",
                "localhostRef": str(seccomp_root / profile["localhostProfile"])}  # type: ignore[index]
    return {"profileType": kind}


def supplemental_groups(pod: ObjectView) -> list[int]:
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    groups = [int(pod_sc["fsGroup"])] if pod_sc.get("fsGroup") is not None else []
    return groups + [int(g) for g in pod_sc.get("supplementalGroups") or []]


def container_security(pod: ObjectView, container: ObjectView, seccomp_root: Path) -> dict[str,
                       Any]:
    """CRI's LinuxContainerSecurityContext (protobuf JSON) for `container`."""
    sc = effective(pod, container)
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    out: dict[str, Any] = {"namespaceOptions": namespace_options(pod)}
    capabilities = sc.get("capabilities") or {}
    if capabilities:
        out["capabilities"] = {"addCapabilities": list(capabilities.get("add") or []),
                               "dropCapabilities": list(capabilities.get("drop") or [])}
    if sc.get("privileged"):
        out["privileged"] = True
    if sc.get("readOnlyRootFilesystem"):
        out["readonlyRootfs"] = True
    for field, cri_field in (("runAsUser", "runAsUser"), ("runAsGroup", "runAsGroup")):
        if sc.get(field) is not None:
            out[cri_field] = {"value": int(sc[field])}
    groups = supplemental_groups(pod)
    if groups:
        out["supplementalGroups"] = groups
    if pod_sc.get("supplementalGroupsPolicy"):
        out["supplementalGroupsPolicy"] = pod_sc["supplementalGroupsPolicy"]
    if sc.get("allowPrivilegeEscalation") is False:
        out["noNewPrivs"] = True
    if (sc.get("procMount") or "Default") == "Default":
        out["maskedPaths"] = list(DEFAULT_MASKED_PATHS)
        out["readonlyPaths"] = list(DEFAULT_READONLY_PATHS)
    out["seccomp"] = seccomp(sc.get("seccompProfile"), seccomp_root)
    return out


def sandbox_security(pod: ObjectView, seccomp_root: Path) -> dict[str, Any]:
    """CRI's LinuxSandboxSecurityContext (protobuf JSON) for the pod."""
    spec = pod.get("spec") or {}
    pod_sc = spec.get("securityContext") or {}
    out: dict[str, Any] = {"namespaceOptions": namespace_options(pod)}
    for field in ("runAsUser", "runAsGroup"):
        if pod_sc.get(field) is not None:
            out[field] = {"value": int(pod_sc[field])}
    groups = supplemental_groups(pod)
    if groups:
        out["supplementalGroups"] = groups
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    if any((c.get("securityContext") or {}).get("privileged") for c in containers):
        out["privileged"] = True
    out["seccomp"] = seccomp(pod_sc.get("seccompProfile"), seccomp_root)
    return out
