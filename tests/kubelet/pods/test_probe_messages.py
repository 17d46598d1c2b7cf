"""What a failed probe says (the `<Probe> probe failed: <message>` event's message), as
upstream's probers: an exec probe's is the command's output as is (the docs' exec liveness
example shows `cat: can't open '/tmp/healthy': No such file or directory`)."""

from __future__ import annotations

import pytest

from nodelab.kubelet.pods.probes.probes import MAX_EXEC_OUTPUT, run_probe

pytestmark = pytest.mark.unit

CAT = "cat: can't open '/tmp/healthy': No such file or directory\n"


@pytest.mark.parametrize(("code", "output", "healthy", "message"), [
    (0, "fine\n", True, ""),
    (1, CAT, False, CAT),
    (2, "", False, ""),
    (1, "x" * (MAX_EXEC_OUTPUT + 5), False, "x" * MAX_EXEC_OUTPUT),
])
def test_exec_probe_outcomes(code: int, output: str, healthy: bool, message: str) -> None:
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}}
    calls: list[tuple[str, list[str], int]] = []

    def exec_sync(container: str, command: list[str], timeout: int) -> tuple[int, str]:
        calls.append((container, command, timeout))
        return code, output

    outcome = run_probe(probe, {"name": "c"}, "cid", "10.244.0.5", exec_sync)
    assert calls == [("cid", ["cat", "/tmp/healthy"], 1)]
    assert (outcome.ok, outcome.message) == (healthy, message)
