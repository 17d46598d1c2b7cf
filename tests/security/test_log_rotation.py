"""A container that writes without end cannot fill the node: its log rotates over real CRI.

A container writes a line every few milliseconds into its CRI log; `rotate_container_logs`
(the kubelet's pass, with a 16 KiB cap and 3 files) renames the log, asks nodelab's runtime to
reopen it (ReopenContainerLog), compresses older files and deletes the oldest. Whatever the
container writes, at most 3 files stay, and the container keeps writing to a fresh 0.log.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.kubelet.cri import CRIClient
from nodelab.kubelet.log_rotation import rotate_container_logs
from nodelab.lab.cri_harness.endpoint import Endpoint, nodelab_endpoint
from nodelab.lab.cri_harness.registry import LocalRegistry, push_busybox

from ..runtime.cri_pod import Pod
from ..runtime.privileges import need_root
from .victim import FIGURE

pytestmark = pytest.mark.privileged

MAX_SIZE, MAX_FILES = 16 * 1024, 3


@pytest.fixture(scope="module")
def runtime(hostile_registry: LocalRegistry,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    need_root()
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    push_busybox(hostile_registry)
    with nodelab_endpoint(tmp_path_factory.mktemp("cri-logs"), hostile_registry) as endpoint:
        yield endpoint


def test_a_chatty_container_keeps_at_most_max_files(runtime: Endpoint, tmp_path: Path) -> None:
    from nodelab.cri import api_pb2 as cri

    runtime.image_stub().PullImage(cri.PullImageRequest(
        image=cri.ImageSpec(image=runtime.image())), timeout=120)
    pod = Pod(runtime, tmp_path)
    try:
        cid = pod.container("chatty", ["i=0; while true; do i=$((i+1)); "
                                       "echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
                                       "usleep 2000 2>/dev/null || sleep 0.002; done"])
        client = CRIClient(str(runtime.socket))
        log_dir = pod.logs / "chatty"
        rotations = 0
        deadline = time.monotonic() + 120  # rotate as the kubelet's loop does, until 3 happened
        while rotations < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
            rotations += rotate_container_logs(client, MAX_SIZE, MAX_FILES)
            assert len(list(log_dir.iterdir())) <= MAX_FILES, sorted(log_dir.iterdir())
        names = sorted(p.name for p in log_dir.iterdir())
        assert rotations >= 3, names
        assert any(name.endswith(".gz") for name in names), names
        def current_size() -> int:  # 0.log is briefly absent between rename and reopen
            try:
                return (log_dir / "0.log").stat().st_size
            except FileNotFoundError:
                return -1

        size = current_size()
        deadline = time.monotonic() + 60  # still writing, to the reopened log
        while current_size() <= size and time.monotonic() < deadline:
            time.sleep(0.1)
        assert current_size() > size
        assert pod.status(cid).state == 1
        FIGURE.record("unbounded container output", [])
    finally:
        pod.remove()
