"""The `cluster` parameter of notebooks 01, 04, 06 and 07, run through papermill.

`cluster=<kubeconfig>`: a real joined cluster. The foreign cluster is an embedded lab A brought
up by the test (tests/join/foreign.py, as the join tests do); the notebook gets only a copy of
A's admin kubeconfig and a lab name of its own, joins that lab's node to A, and runs solved:
every check and task looks at A's API objects and at the joined node's kernel and files.

`cluster="kind"`: needs a Docker engine and the kind CLI. Without them the notebook stops at
its first lab cell with `ClusterUnavailable` and one line saying why, and this test skips with
that line; with them it runs solved on the kind cluster and deletes it after.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest

from nodelab.lab.lab import take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.join.foreign import foreign_cluster
from tests.notebooks.outcomes import assert_solved
from tests.notebooks.solved import NOTEBOOKS, run

WITH_CLUSTER = ["01-node-registration", "04-probes-and-restarts", "06-service-dnat",
                "07-the-whole-node"]
JOINED_RUNS = WITH_CLUSTER
# the lessons a joined lab cannot give, skipped with their reason
SKIPPED_WHEN_JOINED = {"06-service-dnat": ["predict-dns-name"], "07-the-whole-node": ["oom-event"]}
# and on kind, whose API server cannot reach the lab's kubelets, those that need kubectl exec
SKIPPED_ON_KIND = {"04-probes-and-restarts": ["predict-readiness"],
                   "06-service-dnat": ["predict-dns-name", "node-dns-pod"],
                   "07-the-whole-node": ["oom-event"]}

pytestmark = [pytest.mark.notebook, pytest.mark.slow, needs_root]


@pytest.fixture(scope="module")
def foreign_kubeconfig() -> Iterator[Path]:
    with foreign_cluster() as (_a, given):
        yield given


@pytest.fixture(scope="module")
def joined_lab() -> Iterator[str]:
    """The notebooks' joined lab: the first notebook joins it, the next ones reuse it."""
    name = unique_lab_name()
    try:
        yield name
    finally:
        take_down_lab(name)


@pytest.fixture(scope="module")
def two_node_lab() -> Iterator[str]:
    """The lab of 06's two-node section (an embedded one, whatever the cluster)."""
    name = unique_lab_name()
    try:
        yield name
    finally:
        take_down_lab(name)


@pytest.mark.timeout(1200)  # 01 with its optional section waits the cluster's 50 s grace period
@pytest.mark.parametrize("notebook", JOINED_RUNS)
def test_a_notebook_runs_solved_on_a_joined_cluster(notebook: str, foreign_kubeconfig: Path,
                                                    joined_lab: str, two_node_lab: str,
                                                    tmp_path: Path) -> None:
    out = tmp_path / f"{notebook}.ipynb"
    extra = {"two_node_lab": two_node_lab} if notebook.startswith("06-") else {}
    run(notebook, out, lab_name=joined_lab, cluster=str(foreign_kubeconfig), **extra)
    text = assert_solved(NOTEBOOKS / f"{notebook}.ipynb", out,
                         SKIPPED_WHEN_JOINED.get(notebook, ()))
    assert f"using lab {joined_lab} (joined to https://" in text


@pytest.mark.kind
@pytest.mark.parametrize("notebook", WITH_CLUSTER)
def test_a_kind_run_skips_with_its_reason_without_docker_or_kind(notebook: str,
                                                                 tmp_path: Path) -> None:
    name = unique_lab_name()
    out = tmp_path / f"{notebook}.ipynb"
    try:
        run(notebook, out, lab_name=name, cluster="kind")
    except papermill.PapermillExecutionError as error:
        if error.ename != "ClusterUnavailable":
            raise
        assert error.evalue.startswith("cluster='kind' cannot run here: ")
        assert "\n" not in error.evalue
        pytest.skip(error.evalue)
    else:
        assert_solved(NOTEBOOKS / f"{notebook}.ipynb", out, SKIPPED_ON_KIND.get(notebook, ()))
    finally:
        subprocess.run([sys.executable, "-m", "nodelab", "kind", "down", "--name", name],
                       capture_output=True, timeout=300, check=False)
        take_down_lab(name)
