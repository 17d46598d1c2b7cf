"""A test run killed in the middle of a CRI harness leaves nothing for good.

The leak this covers: a test session was SIGKILLed while `tests/runtime`'s nodelab endpoint
ran a pod, so no teardown ran, and its pod's pinned namespaces, its container's rootfs mount, its
network namespaces and its `nodelab/nlt<id>` cgroups stayed on the host. Now the harness claims
them (nodelab/lab/claims.py) and the next test session, or `nodelab down --all`, removes them.
Here: a child process runs a pod on the harness and is killed with SIGKILL; its claim is then
reaped, and the host is as before (netns, mounts, cgroups, processes). From the kill to its own
reap the test holds the host's reaper lock (`claims.reaping`): a test session starting meanwhile
on the same machine waits for it instead of reaping the harness under the test's eyes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nodelab.host.mounts import mounts_under
from nodelab.host.processes import ProcessId
from nodelab.lab.claims import claims, reap_abandoned, reaping
from nodelab.lab.cri_harness.registry import LocalRegistry
from nodelab.lab.residue import residue

from .privileges import need_root

pytestmark = pytest.mark.slow

RUN_A_POD = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from nodelab.lab.cri_harness.endpoint import nodelab_endpoint
from nodelab.lab.cri_harness.registry import LocalRegistry
from tests.runtime.conftest import pull
from tests.runtime.cri_pod import Pod

registry = LocalRegistry(sys.argv[2], Path(sys.argv[4]))
tmp = Path(sys.argv[1])
with nodelab_endpoint(tmp, registry) as endpoint:
    pull(endpoint)
    pod = Pod(endpoint, tmp / "pod")
    pod.container("sleeper", ["sleep", "3600"])
    print("ready " + endpoint.uid, flush=True)
    time.sleep(3600)
"""


def test_a_killed_harness_is_reaped(registry: LocalRegistry, tmp_path: Path) -> None:
    need_root()
    before = residue()
    repo = str(Path(__file__).resolve().parents[2])
    child = subprocess.Popen([sys.executable, "-c", RUN_A_POD, str(tmp_path / "h"),
                              registry.address, repo, str(registry.storage)],
                             stdout=subprocess.PIPE, text=True, cwd=repo)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("ready "), f"the harness did not run a pod: {line!r}"
        prefix = "nlt" + line.split()[1]

        def left() -> set[str]:
            """This harness's namespaces and cgroups, and the mounts under its directory."""
            return ({r for r in residue() if f"{prefix}-" in r or f"/{prefix}/" in r
                     or r.endswith(f"/{prefix}")}  # not a lab's `nlt<name>-node1` beside it
                    | {f"mount {p}" for p in mounts_under(tmp_path)})

        made = left()
        assert {r.split()[0] for r in made} == {"netns", "cgroup", "mount"}, made
        assert not made & before
    except BaseException:
        kill(child)
        raise
    with reaping():  # nobody else reaps from the kill until this test has
        kill(child)
        assert left() == made, "the kill itself removes nothing"
        runtime = [c for c in claims() if c.prefix == prefix]
        assert runtime and not runtime[0].owner.alive()

        reaped = reap_abandoned()
        assert [c.prefix for c in reaped if c.prefix == prefix] == [prefix]
    assert left() == set()
    assert not [c for c in claims() if c.prefix == prefix]
    # the runtime, the registry and the pod's processes were in the node's namespaces: gone
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", leftover.stdout


def kill(child: subprocess.Popen[str]) -> None:
    """SIGKILL (no teardown runs), and the child reaped."""
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    if child.stdout is not None:
        child.stdout.close()


def test_a_claim_whose_owner_lives_is_left_alone(tmp_path: Path) -> None:
    need_root()
    from nodelab.lab.claims import claimed

    with claimed("runtime", tmp_path, prefix="nltzzzz") as held:
        assert held.owner == ProcessId.of(os.getpid())
        assert held not in reap_abandoned()
        assert held in claims()
    assert held not in claims()
