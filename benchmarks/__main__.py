"""The one command: run the benchmarks, write their results, render docs/performance.md.

    sudo .venv/bin/python -m benchmarks [--quick] [--only AREA_OR_NAME[,...]]
        [--merge RUN_DIR] [--docs | --no-docs] [--load-note TEXT] [--total-budget S]
    .venv/bin/python -m benchmarks --render RUN_DIR     (the page again, from saved results)

Results go to benchmarks/results/<run-id>/: one `<name>.json` and `<name>.log` per benchmark
and `results.json`, the combined set the page is rendered from. A full run (no --quick, no
--only) also writes docs/performance.md and the plots in docs/performance/; other runs write
the page next to their results unless --docs is given. `--merge RUN_DIR` starts from an
earlier run's results and replaces only the benchmarks run now (to rerun one area).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from benchmarks.catalog import AREAS, CATALOG
from benchmarks.machine import describe, load_average
from benchmarks.report import render
from benchmarks.runner import GRACE_S, ROOT, run_benchmark
from benchmarks.schema import BenchmarkRun

RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Run nodelab's benchmarks and render the report.")
    parser.add_argument("--quick", action="store_true", help="small sizes, < 5 minutes")
    parser.add_argument("--only", default="", help=f"areas or names, comma-separated: {AREAS}")
    parser.add_argument("--merge", type=Path, help="an earlier run dir to start from")
    parser.add_argument("--render", type=Path, metavar="RUN_DIR",
                        help="run nothing: render the page again from RUN_DIR's results")
    docs = parser.add_mutually_exclusive_group()
    docs.add_argument("--docs", action="store_true", default=None,
                      help="write docs/performance.md and its plots")
    docs.add_argument("--no-docs", dest="docs", action="store_false")
    parser.add_argument("--load-note", default="", help="what else ran on the machine")
    parser.add_argument("--total-budget", type=float, default=None,
                        help="seconds for the whole run (default 43 min, 5 with --quick)")
    options = parser.parse_args(argv)
    wanted = {w for w in options.only.split(",") if w}
    known = set(AREAS) | {b.name for b in CATALOG}
    if wanted - known:
        parser.error(f"--only: unknown {', '.join(sorted(wanted - known))}; "
                     f"choose from {', '.join(sorted(known))}")
    return options


def write_page(runs: dict[str, BenchmarkRun], machine: list[tuple[str, str]], run_id: str,
               run_dir: Path, to_docs: bool) -> Path:
    from benchmarks.plots import draw_all

    page_dir = DOCS if to_docs else run_dir
    image_dir = page_dir / "performance"
    plots = draw_all(runs, image_dir)
    relative = {key: [str(p.relative_to(page_dir)) for p in paths] for key, paths in plots.items()}
    page = page_dir / "performance.md"
    page.write_text(render(runs, machine, run_id=run_id, plots=relative))
    return page


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    # SIGTERM (e.g. from `timeout`) and SIGINT, even when started in the background, stop the
    # running benchmark the same way as Ctrl-C: it gets SIGINT and removes what it made.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    if options.render:
        saved = json.loads((options.render / "results.json").read_text())
        stored = {r["name"]: BenchmarkRun.from_json(r) for r in saved["runs"]}
        machine = [(str(k), str(v)) for k, v in saved["machine"]]
        page = write_page(stored, machine, str(saved["run_id"]), options.render,
                          options.docs is not False)
        print(f"page {page.relative_to(ROOT)}")
        return 0
    wanted = {w for w in options.only.split(",") if w}
    selected = [b for b in CATALOG if not wanted or b.area in wanted or b.name in wanted]
    run_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + ("-quick" if options.quick else "")
    run_dir = RESULTS / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    runs: dict[str, BenchmarkRun] = {}
    if options.merge:
        merged = json.loads((options.merge / "results.json").read_text())
        runs = {r["name"]: BenchmarkRun.from_json(r) for r in merged["runs"]}
    load_start = load_average()
    total = options.total_budget or (300.0 if options.quick else 2580.0)
    deadline = time.monotonic() + total
    if os.geteuid() != 0:
        print("note: not root; the benchmarks that need root are reported as not run",
              file=sys.stderr)
    for bench in selected:
        remaining = deadline - time.monotonic() - GRACE_S
        budget = min(bench.budget(options.quick), remaining)
        print(f"==> {bench.name} (budget {budget:.0f} s)", flush=True)
        try:
            result = run_benchmark(bench, run_dir, quick=options.quick, budget=budget)
        except KeyboardInterrupt:
            print(f"interrupted: {bench.name} was stopped (its cleanup ran); the results so far "
                  f"are in {run_dir.relative_to(ROOT)}", file=sys.stderr)
            return 130
        runs[bench.name] = result
        print(f"    {result.status} in {result.seconds:.0f} s {result.reason}", flush=True)
        (run_dir / "results.json").write_text(json.dumps(
            {"run_id": run_id, "quick": options.quick,
             "runs": [r.to_json() for r in runs.values()]}, indent=2) + "\n")
    note = f"at start {load_start}"
    if options.load_note:
        note += f"; {options.load_note}"
    machine = describe(note)
    combined = {"run_id": run_id, "quick": options.quick, "machine": machine,
                "runs": [r.to_json() for r in runs.values()]}
    (run_dir / "results.json").write_text(json.dumps(combined, indent=2) + "\n")
    to_docs = options.docs if options.docs is not None else not (options.quick or wanted)
    page = write_page(runs, machine, run_id, run_dir, to_docs)
    print(f"results in {run_dir.relative_to(ROOT)}; page {page.relative_to(ROOT)}")
    return 0 if all(r.status == "ok" for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
