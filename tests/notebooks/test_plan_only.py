"""Every course notebook also runs to its end where nothing may be applied (Binder).

On a host without privileges each notebook shows the plans of its privileged steps (the Node
object, CNI calls, the OCI spec, rules, cgroup settings) under a "PLAN ONLY (not applied)"
banner instead of applying them. Two ways to get there:

- `NODELAB_PLAN_ONLY=1`, which `nodelab.course.can_apply` honours even as root: runs here always;
- as the user nobody (`setpriv --reuid=65534`), a real unprivileged kernel: runs only where that
  user can start this venv's interpreter and papermill (it skips, naming why, where it cannot).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import papermill
import pytest

from nodelab.course import FORCE_PLAN_ONLY, PLAN_ONLY
from nodelab.lab.lab import take_down_lab
from tests.conftest import unique_lab_name

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("0[1-9]-*.ipynb"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _outputs(notebook: Path) -> str:
    import nbformat

    text = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_shows_its_plans(notebook: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    lab_name = unique_lab_name()
    out = tmp_path / notebook.name
    try:
        papermill.execute_notebook(
            str(notebook), str(out), parameters={"lab_name": lab_name, "fast": True},
            kernel_name="python3", cwd=str(notebook.parent), progress_bar=False,
            execution_timeout=120,
        )
    finally:
        take_down_lab(lab_name)
    printed = _outputs(out)
    assert PLAN_ONLY in printed, "a privileged step was not shown as a plan"
    assert "all checks passed" in printed
    assert not (Path("/run/netns") / f"nl{lab_name}-node1").exists(), "plan-only mode made a lab"


def _nobody_can_run_python() -> str:
    if os.geteuid() != 0:
        return "needs root to switch to the user nobody"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    # Through a shell: the kernel is a second exec, and only that one shows whether nobody may
    # reach the interpreter (setpriv's own exec can still pass where a later one fails).
    probe = subprocess.run(
        [*NOBODY, "/bin/sh", "-c", f'exec "{sys.executable}" -c "import nodelab, ipykernel"'],
        capture_output=True, text=True, env={**os.environ, "HOME": "/tmp"},
    )
    if probe.returncode != 0:
        return ("the user nobody cannot start this venv's interpreter "
                f"({sys.executable}): {probe.stderr.strip()[:160]}")
    return ""


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_as_nobody(notebook: Path) -> None:
    reason = _nobody_can_run_python()
    if reason:
        pytest.skip(reason)
    home = Path(tempfile.mkdtemp(prefix="nodelab-nobody-"))  # pytest's tmp_path is root-only
    home.chmod(0o777)
    out = home / notebook.name
    env = {**os.environ, "HOME": str(home)}
    env.pop(FORCE_PLAN_ONLY, None)
    try:
        done = subprocess.run(
            [*NOBODY, sys.executable, "-m", "papermill", str(notebook), str(out), "-k", "python3",
             "-p", "lab_name", unique_lab_name(), "-p", "fast", "True",
             "--cwd", str(notebook.parent)],
            capture_output=True, text=True, env=env, timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        printed = _outputs(out)
        assert PLAN_ONLY in printed and "all checks passed" in printed
    finally:
        shutil.rmtree(home, ignore_errors=True)
