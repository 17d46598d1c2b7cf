"""The CRI requests for a pod, as plain data (protobuf JSON): what the notebooks show.

`sandbox_config(pod, ...)` is the PodSandboxConfig of RunPodSandbox; `container_config(...)`
the ContainerConfig of CreateContainer. Labels and annotations follow the kubelet's
(`io.kubernetes.pod.name`, `io.kubernetes.container.name`, `io.kubernetes.container.restartCount`
...), so the kubelet finds its sandboxes and containers again after a restart, and
`crictl`-style tools show the same names. Logs go to
`<log root>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nodelab.kube.objects import ObjectView
from nodelab.kubelet.pods.dns import PodDNS
from nodelab.kubelet.pods.env.variables import EnvSources, command_and_args, container_env
from nodelab.kubelet.pods.resources.qos import cgroup_parent, container_resources
from nodelab.kubelet.pods.security.security_context import container_security, sandbox_security
from nodelab.kubelet.pods.termination_message import message_annotations

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
INIT_CONTAINER = "io.nodelab.container.init"
SECCOMP_ROOT = Path("/var/lib/kubelet/seccomp")  # upstream's <root-dir>/seccomp


def pod_labels(pod: ObjectView) -> dict[str, str]:
    metadata = pod["metadata"]
    return {POD_NAME: metadata["name"], POD_NAMESPACE: metadata["namespace"],
            POD_UID: metadata["uid"]}


def log_directory(log_root: Path, pod: ObjectView) -> Path:
    metadata = pod["metadata"]
    return log_root / f"{metadata['namespace']}_{metadata['name']}_{metadata['uid']}"


def sandbox_config(pod: ObjectView, attempt: int, log_root: Path, *,
                   dns: PodDNS | None = None,
                   cgroup_root: str = "/",
                   seccomp_root: Path = SECCOMP_ROOT) -> dict[str, Any]:
    """The PodSandboxConfig; `dns` as `dns.pod_dns` formed it (none: the runtime's default)."""
    metadata, spec = pod["metadata"], pod.get("spec") or {}
    port_mappings = []
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                port_mappings.append({
                    "protocol": port.get("protocol") or "TCP",
                    "containerPort": port["containerPort"], "hostPort": port["hostPort"],
                    "hostIp": port.get("hostIP", ""),
                })
    security = spec.get("securityContext") or {}
    return {
        "metadata": {"name": metadata["name"], "namespace": metadata["namespace"],
                     "uid": metadata["uid"], "attempt": attempt},
        # upstream leaves it empty for hostNetwork pods: the node's own hostname is kept
        # (containerd's runc refuses a hostname without a private UTS namespace)
        "hostname": "" if spec.get("hostNetwork") else spec.get("hostname") or metadata["name"],
        "logDirectory": str(log_directory(log_root, pod)),
        "dnsConfig": dns.cri() if dns is not None else {},
        "portMappings": port_mappings,
        "labels": {**(metadata.get("labels") or {}), **pod_labels(pod)},
        # the pod's annotations only (upstream's newPodAnnotations); the grace a kill needs
        # after the pod is gone is on each container (container_config)
        "annotations": dict(metadata.get("annotations") or {}),
        "linux": {
            "cgroupParent": cgroup_parent(pod, cgroup_root),
            "securityContext": sandbox_security(pod, seccomp_root),
            "sysctls": {s["name"]: s["value"] for s in security.get("sysctls") or []},
        },
    }


def container_config(pod: ObjectView, container: ObjectView, *, attempt: int, image: str,
                     mounts: list[dict[str, Any]], memory_capacity: int,
                     init: bool = False,
                     envs: Sequence[tuple[str, str]] | None = None,
                     seccomp_root: Path = SECCOMP_ROOT) -> dict[str, Any]:
    """The ContainerConfig; `envs` is the environment `env.container_env` computed (without
    it, the one the pod alone gives: no ConfigMaps, Secrets or services)."""
    name = container["name"]
    if envs is None:
        envs = container_env(pod, container, EnvSources(fetch=lambda *_: None)).envs
    command, args = command_and_args(container, envs)
    labels = {**pod_labels(pod), CONTAINER_NAME: name}
    if init:
        labels[INIT_CONTAINER] = "true"
    return {
        "metadata": {"name": name, "attempt": attempt},
        "image": {"image": image},
        "command": command,
        "args": args,
        "workingDir": container.get("workingDir", ""),
        "envs": [{"key": k, "value": v} for k, v in envs],
        "mounts": mounts,
        "labels": labels,
        "annotations": {RESTART_COUNT: str(attempt), **message_annotations(container),
                        TERMINATION_GRACE: str(pod["spec"].get("terminationGracePeriodSeconds",
                                                               30))},
        "logPath": f"{name}/{attempt}.log",
        "stdin": bool(container.get("stdin")),
        "stdinOnce": bool(container.get("stdinOnce")),
        "tty": bool(container.get("tty")),
        "linux": {
            "resources": container_resources(pod, container, memory_capacity),
            "securityContext": container_security(pod, container, seccomp_root),
        },
    }
