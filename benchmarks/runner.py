"""Running one benchmark script under a time budget, whatever happens to it.

The script runs in its own process group with `--out <run dir>/<name>.json`. At its budget it
gets SIGINT (Python raises KeyboardInterrupt, so its `finally` blocks remove what it made),
then SIGTERM and at last SIGKILL for the group if it does not end. Ctrl-C of the runner is
passed on the same way before the runner stops. The outcome is a `BenchmarkRun`: ok, failed
(with the tail of its stderr) or over-budget (with the rows it wrote before).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.catalog import Benchmark
from benchmarks.schema import BenchmarkRun, read_results

ROOT = Path(__file__).resolve().parents[1]
GRACE_S = 30.0


def _default_sigint() -> None:
    """In the child before exec: a runner started in the background ignores SIGINT, and the
    script would inherit that; with the default back, Python turns SIGINT into
    KeyboardInterrupt there and the script's cleanup runs."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT, then SIGTERM, then SIGKILL to the script's process group, until it ends."""
    for sig, wait in ((signal.SIGINT, GRACE_S), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text[-lines:])


def run_benchmark(bench: Benchmark, run_dir: Path, *, quick: bool,
                  budget: float | None = None) -> BenchmarkRun:
    """Run `bench`; `budget` (seconds) lowers its own budget, e.g. to fit the run's total."""
    budget = bench.budget(quick) if budget is None else min(budget, bench.budget(quick))
    args = bench.argv(quick)
    if args is None:
        return BenchmarkRun(bench.name, bench.area, "not-run", budget,
                            reason="not part of a --quick run (run without --quick)")
    if not bench.path.exists():
        return BenchmarkRun(bench.name, bench.area, "not-run", budget,
                            reason=f"{bench.path.relative_to(ROOT)} does not exist yet")
    if budget < min(20.0, bench.budget(quick)):
        return BenchmarkRun(bench.name, bench.area, "not-run", budget,
                            reason="the run's total time budget was spent before it")
    if bench.needs_root and os.geteuid() != 0:
        return BenchmarkRun(bench.name, bench.area, "not-run", budget,
                            reason="needs root (run the runner with sudo)")
    out = run_dir / f"{bench.name}.json"
    log = run_dir / f"{bench.name}.log"
    command = [sys.executable, str(bench.path.relative_to(ROOT)), *args, "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    started = time.monotonic()
    status, reason = "ok", ""
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_default_sigint)
        try:
            code = proc.wait(timeout=budget)
            if code != 0:
                status, reason = "failed", f"exit status {code}: {_tail(log)}"
        except subprocess.TimeoutExpired:
            _stop(proc)
            status = "over-budget"
        except KeyboardInterrupt:
            _stop(proc)
            raise
    seconds = time.monotonic() - started
    params: dict[str, object] = {}
    rows: list[dict[str, object]] = []
    if out.exists():
        params, rows = read_results(out)
    elif status == "ok":
        status, reason = "failed", f"it wrote no results to {out.name}: {_tail(log)}"
    return BenchmarkRun(bench.name, bench.area, status, budget, round(seconds, 1), params, rows,
                        reason, [str(c) for c in command])
