"""A test session killed with its labs up: the next session (or `nodelab down --all`) takes
them down. The session claims its state base (tests/conftest.py, nodelab/lab/claims.py); here a
child process does the same, brings a lab up in its own base and is killed with SIGKILL. From
the kill to its own reap the test holds the host's reaper lock (`claims.reaping`), so a test
session starting meanwhile waits instead of taking the lab down under the test's eyes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nodelab.lab.claims import claims, reap_abandoned, reaping
from nodelab.lab.lab import Lab
from tests.conftest import needs_root, unique_lab_name
from tests.lab.test_lifecycle import lab_residue
from tests.runtime.test_killed_harness import kill

pytestmark = [pytest.mark.privileged, pytest.mark.slow, needs_root]

A_SESSION = """
import os, sys, time
from pathlib import Path
base = Path(sys.argv[1])
os.environ["NODELAB_STATE_DIR"] = str(base)
from nodelab.lab.claims import claim
from nodelab.lab.lab import Lab
claim("labs", base)
Lab.up(sys.argv[2])
print("ready", flush=True)
time.sleep(3600)
"""


def test_the_labs_of_a_killed_session_are_taken_down() -> None:
    # a short base, as the suite's own (tests/conftest.py): under a pytest-xdist worker's
    # tmp_path the node's runtime socket path is over the 107 bytes a unix socket allows
    base, name = Path(tempfile.mkdtemp(prefix="nlk-", dir="/tmp")), unique_lab_name()
    repo = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen([sys.executable, "-c", A_SESSION, str(base), name],
                             stdout=subprocess.PIPE, text=True, cwd=repo)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    except BaseException:
        kill(child)
        reap_abandoned()  # its lab, if it got that far, and the base
        shutil.rmtree(base, ignore_errors=True)
        raise
    with reaping():  # nobody else reaps from the kill until this test has
        kill(child)
        lab = Lab.get(name, base=base)
        assert lab_residue(lab), "the lab is up and nobody owns it any more"

        assert base in [c.root for c in reap_abandoned()]
    assert lab_residue(lab) == set()
    assert not base.exists()
    assert base not in [c.root for c in claims()]
