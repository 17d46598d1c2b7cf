"""Running a course notebook solved and fast through papermill, as the cluster tests do."""

from __future__ import annotations

from pathlib import Path

import papermill

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"


def run(notebook: str, out: Path, **parameters: object) -> None:
    """Run `notebooks/<notebook>.ipynb` with `solve` and `fast` (and `parameters`) into `out`."""
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{notebook}.ipynb"), str(out),
        parameters={"fast": True, "solve": True, **parameters}, kernel_name="python3",
        cwd=str(NOTEBOOKS), progress_bar=False, execution_timeout=600)
