"""A benchmark's own state base is claimed as `labs` while it runs (benchmarks/state_base.py),
and released only once it is gone."""

from __future__ import annotations

import os
import shutil

import pytest

from benchmarks.state_base import claimed_base
from nodelab.lab.claims import claim_file, claims, release
from tests.conftest import needs_root

pytestmark = [pytest.mark.privileged, needs_root]


def test_the_base_is_claimed_while_the_benchmark_runs_and_released_once_removed() -> None:
    with claimed_base(prefix="nodelab-bench-test-") as base:
        [held] = [c for c in claims() if c.root == base]
        assert held.kind == "labs" and held.owner.pid == os.getpid()
        assert oct(base.stat().st_mode & 0o777) == "0o755"
    assert not base.exists() and not claim_file(base).exists()


def test_a_base_left_with_a_lab_in_it_keeps_its_claim_for_the_reaper(
        capsys: pytest.CaptureFixture[str]) -> None:
    with claimed_base(prefix="nodelab-bench-test-") as base:
        (base / "bleft").mkdir()  # a lab whose `down` failed
    held = [c for c in claims() if c.root == base]
    try:
        assert [(c.kind, c.owner.pid) for c in held] == [("labs", os.getpid())]
        assert "its claim stays" in capsys.readouterr().err
    finally:
        shutil.rmtree(base)
        for kept in held:
            release(kept)
