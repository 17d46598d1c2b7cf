"""The node1 notebooks solved on one two-node embedded lab, in the course's order.

The README brings the default lab up with `--nodes 2`, and notebooks 01, 04, 05, 07 and 08 work
on node1 of it; here they run one after another on one two-node lab, as a learner runs them
(each notebook resets what it makes). A module of its own so that it runs on a worker beside
the joined-cluster runs (tests/notebooks/test_clusters.py), not after them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import needs_root, unique_lab_name
from tests.notebooks.outcomes import assert_solved
from tests.notebooks.solved import NOTEBOOKS, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow, needs_root]


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
