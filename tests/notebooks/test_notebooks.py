"""Every notebook in notebooks/ runs top to bottom through papermill, with its tasks solved.

The course keeps one lab alive across its notebooks, so the suite does the same: one uniquely
named lab for the whole module, passed to each notebook as `lab_name` (the first notebook to
run brings it up, each one resets only what it makes), 01 to 08 in order, then 00 with
`teardown=True`, which takes the lab down and checks that nothing is left. The fixture takes
the lab down too, whatever happened, since papermill stops at the first failing cell; so does
the fixture of the two-node lab that 06's optional section brings up and takes down.

`solve=True`: every task's hidden solution is filled in. The task API itself requires each
check to FAIL before its solution runs ("fails unsolved") and to pass after ("done"); this
test also reads those lines back, so a task whose check was never run cannot slip through.

With `NODELAB_REFERENCE_DIR` set (`scripts/publish-reference` sets docs/reference), each
executed notebook is also written there as HTML: the reference outputs the plan-only runs
point at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest

from nodelab.lab.lab import take_down_lab
from tests.conftest import unique_lab_name
from tests.notebooks.outcomes import assert_solved
from tests.notebooks.reference import REFERENCE_ENV, publish

FOUND = sorted((Path(__file__).parents[2] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
# 00 last: it takes the shared lab down (teardown=True) and checks that nothing is left.
NOTEBOOKS = [p for p in FOUND if not p.stem.startswith("00-")] + \
    [p for p in FOUND if p.stem.startswith("00-")]


def test_the_course_has_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no NN-topic.ipynb"


@pytest.fixture(scope="module")
def shared_lab() -> Iterator[str]:
    name = unique_lab_name()
    try:
        yield name
    finally:
        take_down_lab(name)


@pytest.fixture(scope="module")
def two_node_lab() -> Iterator[str]:
    """The lab of 06's two-node section, which takes it down itself (this is in case it fails)."""
    name = unique_lab_name()
    try:
        yield name
    finally:
        take_down_lab(name)


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_solved(notebook: Path, shared_lab: str, two_node_lab: str,
                              tmp_path: Path) -> None:
    out = tmp_path / notebook.name
    parameters: dict[str, object] = {"lab_name": shared_lab, "fast": True, "solve": True}
    if notebook.stem.startswith("06-"):
        parameters["two_node_lab"] = two_node_lab
    if notebook.stem.startswith("00-"):
        parameters["teardown"] = True
    papermill.execute_notebook(
        str(notebook), str(out), parameters=parameters, kernel_name="python3",
        cwd=str(notebook.parent), progress_bar=False, execution_timeout=600,
    )
    assert_solved(notebook, out)
    if os.environ.get(REFERENCE_ENV) and not notebook.stem.startswith("00-"):
        publish(out, Path(os.environ[REFERENCE_ENV]))
