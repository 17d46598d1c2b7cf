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

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.join.foreign import foreign_cluster
from tests.notebooks.outcomes import assert_solved

NOTEBOOKS = Path(__file__).parents[2] / "notebooks"
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


def run(notebook: str, out: Path, **parameters: object) -> None:
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{notebook}.ipynb"), str(out),
        parameters={"fast": True, "solve": True, **parameters}, kernel_name="python3",
        cwd=str(NOTEBOOKS), progress_bar=False, execution_timeout=600)


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


@pytest.fixture(scope="module")
def node1_lab() -> Iterator[str]:
    """One two-node lab for the node1 notebooks, run on it in the course's order, as a learner
    runs them on the README's `--nodes 2` lab (each notebook resets what it makes). A pod
    bound to node1 that requests most of its CPU makes node2 the scheduler's choice for any
    other pod."""
    name = unique_lab_name()
    try:
        lab = Lab.up(name, nodes=2)
        ballast = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ballast"},
                   "spec": {"nodeName": "node1", "containers": [{
                       "name": "pause", "image": lab.images.ref("pause"),
                       "resources": {"requests": {"cpu": "1500m"}}}]}}
        subprocess.run([str(Path(sys.executable).parent / "kubectl"), "--kubeconfig",
                        str(lab.kubeconfig), "apply", "-f", "-"], input=json.dumps(ballast),
                       text=True, check=True, capture_output=True, timeout=60)
        yield name
    finally:
        take_down_lab(name)


@pytest.mark.parametrize("notebook", ["01-node-registration", "04-probes-and-restarts",
                                      "05-cgroup-limits", "07-the-whole-node",
                                      "08-break-and-fix"])
def test_a_node1_notebook_runs_solved_on_a_two_node_lab(notebook: str, node1_lab: str,
                                                        tmp_path: Path) -> None:
    """The README brings the default lab up with `--nodes 2` and `scripts/setup course` keeps
    a lab's nodes: 04 reads the crash pod's logs through node1's kubelet and its log file
    under node1's state, 07 follows its Deployment's pods through node1's runtime, CNI state
    and rules (and predicts a third replica Pending once node1 is cordoned), 08 breaks node1
    (its runtime, its CNI config) under Deployments that must start pods there, so their pods
    must run there whatever the scheduler would choose (they went to node2, the emptier one,
    and the notebooks stopped): the lab's ballast pod on node1 sees to that."""
    out = tmp_path / f"{notebook}.ipynb"
    run(notebook, out, lab_name=node1_lab)
    assert_solved(NOTEBOOKS / f"{notebook}.ipynb", out)


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
