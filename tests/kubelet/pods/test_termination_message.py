"""The termination message of an exited container, as upstream's getTerminationMessage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nodelab.kubelet.pods.termination_message import (
    FALLBACK,
    PATH_ANNOTATION,
    POLICY_ANNOTATION,
    message_annotations,
    message_mounts,
    termination_message,
    with_runtime_message,
)

pytestmark = pytest.mark.unit
PATH = "/dev/termination-log"
MOUNTS = [("/data", "/h/data"), (PATH, "/h/msg")]


@pytest.mark.parametrize(("policy", "code", "reason", "file", "expected"), [
    ("File", 1, "Error", b"bye\n", "bye\n"),
    ("File", 1, "Error", b"", ""),
    ("File", 1, "Error", None, ""),
    (FALLBACK, 1, "Error", b"", "from logs"),
    (FALLBACK, 1, "Error", None, "from logs"),
    (FALLBACK, 1, "Error", b"written", "written"),
    (FALLBACK, 0, "Completed", b"", ""),
    (FALLBACK, 128, "ContainerCannotRun", b"", ""),
    ("File", 0, "Completed", b"x" * 5000, "x" * 4096),
])
def test_messages(policy: str, code: int, reason: str, file: bytes | None,
                  expected: str) -> None:
    annotated = {PATH_ANNOTATION: PATH, POLICY_ANNOTATION: policy}
    read = {"/h/msg": file}
    assert termination_message(annotated, MOUNTS, code, reason, read.get,
                               lambda: "from logs") == expected


def test_annotations_and_the_runtime_message() -> None:
    assert message_annotations({"terminationMessagePath": PATH}) == {
        PATH_ANNOTATION: PATH, POLICY_ANNOTATION: "File"}
    assert with_runtime_message("", "bye") == "bye"
    assert with_runtime_message("OOMKilled", "bye") == "OOMKilled: bye"
    assert with_runtime_message("OOMKilled", "") == "OOMKilled"


def test_the_message_file_is_empty_and_writable_by_anyone(tmp_path: Path) -> None:
    container = {"name": "c", "terminationMessagePath": "/tmp/msg"}
    [mount] = message_mounts(tmp_path, "u1", container, 2)
    host = Path(mount["hostPath"])
    assert host == tmp_path / "pods" / "u1" / "containers" / "c" / "2"
    assert host.read_bytes() == b"" and stat.S_IMODE(host.stat().st_mode) == 0o666
    assert mount["containerPath"] == "/tmp/msg" and mount["readonly"] is False
    assert message_mounts(tmp_path, "u1", {"name": "c"}, 0) == []
