"""Wall time of the whole course: notebooks 01-07 through papermill, each on a fresh lab.

    sudo .venv/bin/python benchmarks/course/course_time.py [--notebooks 01,02] [--out PATH]

Exactly what tests/notebooks/test_notebooks.py does, timed: each notebook runs with
`lab_name` set to a fresh name and `fast=True`; it brings its own lab up, and the lab is taken
down afterwards whatever happened (the teardown is included in the time, as a learner waits
for it too). A notebook that fails is recorded with its error and the next one runs. Rows are
written after each notebook, so a run stopped at its budget keeps the finished ones.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import papermill  # noqa: E402

from benchmarks.schema import Row, default_out, write_results  # noqa: E402
from nodelab.lab.lab import take_down_lab  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-7]-*.ipynb"))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--notebooks", default="", help="prefixes, e.g. 01,02 (default 01-07)")
    parser.add_argument("--out", type=Path, default=default_out("course"))
    options = parser.parse_args()
    wanted = [w for w in options.notebooks.split(",") if w]
    notebooks = [n for n in NOTEBOOKS if not wanted or n.name[:2] in wanted]
    params = {"notebooks": ",".join(n.name[:2] for n in notebooks), "fast": True}
    rows: list[Row] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="nlbench-course-") as out_dir:
        for notebook in notebooks:
            lab = "bm" + secrets.token_hex(2)
            start = time.monotonic()
            status = "ok"
            try:
                papermill.execute_notebook(
                    str(notebook), str(Path(out_dir) / notebook.name),
                    parameters={"lab_name": lab, "fast": True}, kernel_name="python3",
                    cwd=str(notebook.parent), progress_bar=False, execution_timeout=600)
            except Exception as exc:  # noqa: BLE001 - any failure is reported, the next runs
                status = f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1:]}"
                failed += 1
            finally:
                take_down_lab(lab)
            rows.append({"notebook": notebook.stem, "seconds": time.monotonic() - start,
                         "status": status})
            print(f"{notebook.stem:<32} {rows[-1]['seconds']:>7.1f} s  {status}", flush=True)
            write_results(options.out, "course", params, rows)
    rows.append({"notebook": "whole course", "seconds": sum(r["seconds"] for r in rows),
                 "status": "ok" if not failed else f"{failed} notebook(s) failed"})
    write_results(options.out, "course", params, rows)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
