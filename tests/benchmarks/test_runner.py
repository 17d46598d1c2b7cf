"""The runner's decisions that need no benchmark to run: what is reported as not run, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.catalog import CATALOG, Benchmark
from benchmarks.runner import run_benchmark

pytestmark = pytest.mark.unit

COURSE = next(b for b in CATALOG if b.name == "course")
PROFILE = next(b for b in CATALOG if b.name == "proxy-restore-profile")


def test_a_benchmark_without_quick_arguments_is_not_run_in_quick(tmp_path: Path) -> None:
    run = run_benchmark(COURSE, tmp_path, quick=True)
    assert (run.status, run.reason) == ("not-run",
                                        "not part of a --quick run (run without --quick)")


def test_a_missing_script_is_not_run_and_named(tmp_path: Path) -> None:
    ghost = Benchmark("ghost", "kubelet", "kubelet/no_such_script.py", (), 60)
    run = run_benchmark(ghost, tmp_path, quick=False)
    assert run.status == "not-run"
    assert "benchmarks/kubelet/no_such_script.py does not exist yet" in run.reason


def test_a_budget_cut_short_by_the_run_total_is_not_run(tmp_path: Path) -> None:
    run = run_benchmark(PROFILE, tmp_path, quick=False, budget=5)
    assert run.status == "not-run"
    assert "total time budget" in run.reason


def test_the_full_and_quick_budgets_fit_the_run_limits() -> None:
    assert sum(b.budget(False) for b in CATALOG) <= 43 * 60
    assert sum(b.budget(True) for b in CATALOG) <= 5 * 60
