"""Hostile image layers pushed to a registry and pulled over CRI change nothing outside the rootfs.

Each layer of `hostile_layers.HOSTILE` aims at a victim tree outside the runtime's state: the test
snapshots the tree, pulls the image through nodelab's runtime (PullImage over its CRI socket, from
a real docker-registry), and compares. Layers the runtime must refuse fail the pull with the
reason and leave no snapshot; the others unpack with their entries inside the snapshot.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.host.beneath import remove_tree
from nodelab.lab.cri_harness.endpoint import Endpoint, nodelab_endpoint
from nodelab.lab.cri_harness.registry import LocalRegistry
from nodelab.oci.image import ImageConfig, build_image
from nodelab.oci.push import push_image

from ..runtime.privileges import need_root
from .hostile_layers import BOMB_CAP, HOSTILE, Hostile, layer
from .victim import FIGURE, changes, snapshot

pytestmark = pytest.mark.privileged


@pytest.fixture(scope="module")
def runtime(hostile_registry: LocalRegistry,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    need_root()
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    tmp = tmp_path_factory.mktemp("cri-hostile")
    try:
        with nodelab_endpoint(tmp, hostile_registry,
                              ["--max-layer-size", str(BOMB_CAP)]) as endpoint:
            yield endpoint
    finally:
        remove_tree(tmp)  # the deep snapshots are past shutil.rmtree's (and pytest's) recursion


def snapshots(endpoint: Endpoint) -> Path:
    return endpoint.state / "runtime" / "images" / "snapshots"


KINDS = {"dir": stat.S_ISDIR, "file": stat.S_ISREG, "chr": stat.S_ISCHR, "blk": stat.S_ISBLK}


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_layer_pulled_over_cri_changes_nothing_outside(
        hostile: Hostile, runtime: Endpoint, hostile_registry: LocalRegistry,
        victim: Path) -> None:
    hostile_layer = layer(hostile.members(str(victim)))
    image = build_image([hostile_layer], ImageConfig(cmd=("sh",)))
    push_image(hostile_registry.client(), f"hostile/{hostile.name}", "latest", image)
    before = snapshot(victim)
    state_before = set(os.listdir(snapshots(runtime)))
    request = cri.PullImageRequest(image=cri.ImageSpec(image=runtime.image(
        f"hostile/{hostile.name}")))
    error = ""
    try:
        runtime.image_stub().PullImage(request, timeout=120)
    except grpc.RpcError as exc:
        error = str(exc.details())
    after = snapshot(victim)
    FIGURE.record("image layers", changes(before, after))
    assert changes(before, after) == []
    fs = snapshots(runtime) / hostile_layer.diff_id.split(":")[1] / "fs"
    if hostile.refused is not None:
        assert re.search(hostile.refused, error), error or "the pull succeeded"
        assert "refusing the layer" in error
        assert not fs.exists()
        assert set(os.listdir(snapshots(runtime))) == state_before  # no half-written snapshot
        return
    assert error == ""
    for rel, kind in hostile.inside(str(victim)):
        info = os.lstat(fs / rel)
        if kind == "setuid":
            assert stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_ISUID
        else:
            assert KINDS[kind](info.st_mode), (rel, oct(info.st_mode))


def test_snapshots_are_not_reachable_by_other_users(runtime: Endpoint) -> None:
    """Setuid files and device nodes of an image stay behind a directory only root can enter."""
    images = runtime.state / "runtime" / "images"
    assert stat.S_IMODE(os.stat(images / "snapshots").st_mode) & 0o077 == 0
