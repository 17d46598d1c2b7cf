"""Every notebook in notebooks/ runs top to bottom through papermill, on a lab of its own.

Each notebook has a `parameters` cell (lab name, fast mode) and ends with checks. The lab it
brings up is taken down here too, whatever happened, since papermill stops at the first
failing cell.
"""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest

from nodelab.lab.lab import take_down_lab
from tests.conftest import unique_lab_name

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def test_the_course_has_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no NN-topic.ipynb"


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(notebook: Path, tmp_path: Path) -> None:
    lab_name = unique_lab_name()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(tmp_path / notebook.name),
            parameters={"lab_name": lab_name, "fast": True},
            kernel_name="python3",
            cwd=str(notebook.parent),
            progress_bar=False,
            execution_timeout=600,
        )
    finally:
        take_down_lab(lab_name)
