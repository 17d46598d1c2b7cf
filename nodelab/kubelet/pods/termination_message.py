"""A container's termination message (upstream's `terminationMessagePath` and
`terminationMessagePolicy`, kuberuntime's `getTerminationMessage`).

Before a container is created the kubelet makes an empty, world-writable file
(`<state>/pods/<uid>/containers/<name>/<attempt>`) and mounts it at the container's
`terminationMessagePath` (default `/dev/termination-log`); the path and the policy also go into
the container's annotations, as upstream writes them, so the kubelet reads them back from
`ContainerStatus` alone. When the container has exited, its message is the last 4096 bytes of
that file; with `FallbackToLogsOnError` and a non-zero exit code, an empty or missing file is
replaced by the last 80 lines (at most 2048 bytes) of the container's log. The message is
appended to the runtime's own (`<runtime message>: <termination message>`) and shows as
`state.terminated.message`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

PATH_ANNOTATION = "io.kubernetes.container.terminationMessagePath"
POLICY_ANNOTATION = "io.kubernetes.container.terminationMessagePolicy"
FALLBACK = "FallbackToLogsOnError"
MAX_MESSAGE_BYTES = 4096
LOG_LINES, LOG_BYTES = 80, 2048


def message_annotations(container: Mapping[str, Any]) -> dict[str, str]:
    path = str(container.get("terminationMessagePath") or "")
    policy = str(container.get("terminationMessagePolicy") or "File")
    return {PATH_ANNOTATION: path, POLICY_ANNOTATION: policy} if path else {
        POLICY_ANNOTATION: policy}


def message_file(state_dir: Path, pod_uid: str, container: str, attempt: int) -> Path:
    return state_dir / "pods" / pod_uid / "containers" / container / str(attempt)


def message_mounts(state_dir: Path, pod_uid: str, container: Mapping[str, Any],
                   attempt: int) -> list[dict[str, Any]]:
    """Create the empty message file (writable by any user of the container); its mount."""
    path = container.get("terminationMessagePath")
    if not path:
        return []
    host = message_file(state_dir, pod_uid, container["name"], attempt)
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_bytes(b"")
    os.chmod(host, 0o666)
    return [{"containerPath": path, "hostPath": str(host), "readonly": False}]


def termination_message(annotated: Mapping[str, str], mounts: Sequence[tuple[str, str]],
                        exit_code: int, reason: str,
                        read_file: Callable[[str], bytes | None],
                        log_tail: Callable[[], str]) -> str:
    """The message of an exited container (see the module doc); `read_file` gives a file's
    last bytes or None when it is missing, `log_tail` the end of the container's log."""
    fallback = (annotated.get(POLICY_ANNOTATION) == FALLBACK and exit_code != 0
                and reason != "ContainerCannotRun")
    path = annotated.get(PATH_ANNOTATION, "")
    host = next((h for c, h in mounts if path and c == path), None)
    data = read_file(host) if host is not None else None
    if not data:
        return log_tail() if fallback else ""
    return data[-MAX_MESSAGE_BYTES:].decode(errors="replace")


def with_runtime_message(runtime_message: str, message: str) -> str:
    if not message:
        return runtime_message
    return f"{runtime_message}: {message}" if runtime_message else message
