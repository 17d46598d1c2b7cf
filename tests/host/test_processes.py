"""Ending many processes at once (`down` of a node with 110 pods ends hundreds)."""

from __future__ import annotations

import subprocess

import pytest

from nodelab.host.processes import ProcessId, terminate_all

pytestmark = pytest.mark.unit


def test_terminate_all_ends_those_that_stop_on_term_and_kills_those_that_ignore_it() -> None:
    script = "trap '' TERM; echo ready; while :; do sleep 1; done"
    stubborn = [subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE)
                for _ in range(4)]
    polite = [subprocess.Popen(["sleep", "60"]) for _ in range(4)]
    for shell in stubborn:  # each has set its trap: TERM alone cannot end it
        assert shell.stdout is not None and shell.stdout.readline() == b"ready\n"
    ids = [i for i in (ProcessId.of(p.pid) for p in stubborn + polite) if i is not None]
    assert len(ids) == 8
    terminate_all(ids, grace=0.5)
    assert not any(i.alive() for i in ids)
    for process in stubborn + polite:
        process.wait(timeout=5)  # nothing left to reap (terminate_all reaped its children)
        if process.stdout is not None:
            process.stdout.close()
