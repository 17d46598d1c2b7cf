"""Every course notebook also runs to its end where nothing may be applied (Binder), unsolved.

On a host without privileges each notebook shows the plans of its privileged steps (the Node
object, CNI calls, the OCI spec, rules, cgroup settings) under a "PLAN ONLY (not applied)"
banner instead of applying them. Two ways to get there:

- `NODELAB_PLAN_ONLY=1`, which `nodelab.course.can_apply` honours even as root: runs here always;
- as the user nobody (`setpriv --reuid=65534`), a real unprivileged kernel (the notebook prints
  its euid, checked here), with nothing left behind: no process, no file in its TMPDIR, no lab.
  The interpreter comes from `tests/notebooks/nobody.py`; the test skips, naming why, only
  where that user cannot reach the repository or any interpreter of this Python version.

With `cluster="kind"` (a kind cluster cannot run here: no Docker engine), the same plan-only run
shows the kind path's decisions: the cells and tasks that need `kubectl exec`/`logs` through
the API server, which kind's cannot give, say they are skipped and why.

These runs are also the course's `solve=False` runs (a learner who has not done the tasks):
every task that needs no lab (its check reads a plan or the loopback API server) must report
`not yet`, a check that fails unsolved; every task that needs a lab must say it is skipped.
A learner may also skip the optional sections: without them a notebook still runs to its end,
and its Checks say which of their checks they skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest

from nodelab.course import FORCE_PLAN_ONLY, PLAN_ONLY
from nodelab.course.checks import NOT_RUN
from nodelab.course.cluster import KIND_NO_KUBELET_PATH
from nodelab.course.plan_only import reference_page
from nodelab.lab.lab import take_down_lab
from tests.conftest import unique_lab_name
from tests.notebooks.nobody import AS_NOBODY, NOBODY_UID, NobodyPython, nobody_python
from tests.notebooks.outcomes import printed, tagged, task_outcomes
from tests.notebooks.sections import without_optional_sections

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("0[1-9]-*.ipynb"))

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _assert_unsolved(notebook: Path, text: str) -> None:
    """Every task's one outcome: `not yet` (its check fails unsolved) or `skipped` (needs a lab)."""
    outcomes = task_outcomes(text)
    expected = tagged(notebook, "task") + tagged(notebook, "scenario")
    assert len(outcomes) == expected, f"{expected} tasks in the notebook, outcomes of {outcomes}"
    for key, seen in outcomes.items():
        assert seen in (["not yet"], ["skipped"]), f"task {key} unsolved: {seen}"
    assert "all checks passed" in text


def _run_unsolved(source: Path, notebook: Path, out: Path) -> tuple[str, str]:
    """Run `source` (the course's `notebook` or a copy of it) unsolved and fast from the
    notebook's folder on a new lab name, taken down after: (what it printed, the lab name)."""
    lab_name = unique_lab_name()
    try:
        papermill.execute_notebook(
            str(source), str(out),
            parameters={"lab_name": lab_name, "fast": True, "solve": False},
            kernel_name="python3", cwd=str(notebook.parent), progress_bar=False,
            execution_timeout=120,
        )
    finally:
        take_down_lab(lab_name)
    return printed(out), lab_name


def _optional_not_run(text: str) -> set[str]:
    """The optional sections whose checks the Checks cell skipped (its summary names them)."""
    said = re.search(rf"{NOT_RUN}: (.*)\)$", text, re.M)
    return set(said[1].split("; ")) if said else set()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_shows_its_plans(notebook: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    text, lab_name = _run_unsolved(notebook, notebook, tmp_path / notebook.name)
    _assert_unsolved(notebook, text)
    assert f"kernel euid 0 ({FORCE_PLAN_ONLY} is set)" in text
    assert f"what they do on a root run: {reference_page(notebook.stem)}" in text
    assert PLAN_ONLY in text or notebook.stem.startswith("08-"), \
        "a privileged step was not shown as a plan"
    assert _optional_not_run(text) == set(), "every section ran: no check may be skipped for it"
    assert not (Path("/run/netns") / f"nl{lab_name}-node1").exists(), "plan-only mode made a lab"


# notebook -> the optional sections whose checks a plan-only run makes (the others are live,
# or need privileges), so that a learner who skipped them is told
OPTIONAL_CHECKED = {
    "02-pod-sandbox": {"where the kubelet's `envs` come from"},
    "05-cgroup-limits": {"Memory pressure"},
    "06-service-dnat": {"iptables vs nftables", "IPVS", "Two nodes"},
    "07-the-whole-node": {"the DaemonSet"},
}


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if not p.stem.startswith("08-")],
                         ids=lambda p: p.stem)
def test_a_learner_who_skipped_every_optional_section_gets_to_the_checks(
        notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    core = tmp_path / f"core-{notebook.name}"
    skipped = without_optional_sections(notebook, core)
    assert skipped, "the notebook has optional sections"
    text, _lab_name = _run_unsolved(core, notebook, tmp_path / notebook.name)
    _assert_unsolved(core, text)
    assert _optional_not_run(text) == OPTIONAL_CHECKED.get(notebook.stem, set())
    for label in _optional_not_run(text):
        assert any(label in heading for heading in skipped), f"{label!r} is not a skipped section"


# notebook -> the tasks skipped on kind for the kubelet path (and cells print that they skip)
KIND_SKIPS = {"04-probes-and-restarts": ["predict-readiness"], "06-service-dnat": ["node-dns-pod"]}


@pytest.mark.parametrize("stem", sorted(KIND_SKIPS))
def test_on_kind_what_needs_the_kubelet_path_says_it_is_skipped(
        stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FORCE_PLAN_ONLY, "1")
    notebook = next(p for p in NOTEBOOKS if p.stem == stem)
    lab_name = unique_lab_name()
    out = tmp_path / notebook.name
    try:
        papermill.execute_notebook(
            str(notebook), str(out),
            parameters={"lab_name": lab_name, "fast": True, "solve": False, "cluster": "kind"},
            kernel_name="python3", cwd=str(notebook.parent), progress_bar=False,
            execution_timeout=120,
        )
    finally:
        take_down_lab(lab_name)
    text = printed(out)
    _assert_unsolved(notebook, text)
    for key in KIND_SKIPS[stem]:
        assert f"task {key}: skipped: {KIND_NO_KUBELET_PATH}" in text
    cells = [line for line in text.splitlines()
             if line.endswith(f"skipped: {KIND_NO_KUBELET_PATH}") and not line.startswith("task ")]
    assert cells, "no cell said it skipped kubectl exec/logs on kind"
    assert _optional_not_run(text) == set()


@pytest.fixture(scope="module")
def nobody() -> Iterator[NobodyPython]:
    python = nobody_python()
    try:
        yield python
    finally:
        python.remove()


def _processes_of(uid: int, marker: str) -> list[str]:
    """Processes of `uid` whose environment holds `marker` (the run's own HOME)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid \
                    and marker.encode() in (proc / "environ").read_bytes():
                found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()!r}")
        except OSError:
            continue
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_as_nobody(notebook: Path, nobody: NobodyPython) -> None:
    if nobody.reason:
        pytest.skip(nobody.reason)
    home = Path(tempfile.mkdtemp(prefix="nodelab-nobody-"))  # pytest's tmp_path is root-only
    home.chmod(0o777)
    scratch = home / "tmp"  # the notebook's TMPDIR: what it leaves there is checked below
    scratch.mkdir(mode=0o777)
    scratch.chmod(0o777)
    out = home / notebook.name
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop(FORCE_PLAN_ONLY, None)
    lab_name = unique_lab_name()
    try:
        done = subprocess.run(
            [*AS_NOBODY, nobody.executable, "-m", "papermill", str(notebook), str(out),
             "-k", "python3", "-p", "lab_name", lab_name, "-p", "fast", "True",
             "-p", "solve", "False",
             "--cwd", str(notebook.parent)],
            capture_output=True, text=True, env=env, cwd=str(home), timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        text = printed(out)
        _assert_unsolved(notebook, text)
        kernel = re.search(r"kernel euid (\d+)", text)
        assert kernel is not None, "the notebook did not print whom its kernel runs as"
        assert int(kernel.group(1)) == NOBODY_UID, f"the kernel ran as euid {kernel.group(1)}"
        assert PLAN_ONLY in text or notebook.stem.startswith("08-")
        assert _optional_not_run(text) == set()
        deadline = time.monotonic() + 10  # the kernel may take a moment to exit after papermill
        while (left := _processes_of(NOBODY_UID, str(home))) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert left == [], "the run left processes behind"
        assert sorted(p.name for p in scratch.iterdir()) == [], "the run left files behind"
        assert not (home / ".local" / "state" / "nodelab").exists(), "the run made a lab"
    finally:
        shutil.rmtree(home, ignore_errors=True)
