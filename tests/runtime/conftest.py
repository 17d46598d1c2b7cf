"""Fixtures for the runtime tests: a local registry with busybox images, root checks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.cri import api_pb2 as cri
from nodelab.lab.cri_harness.endpoint import Endpoint, nodelab_endpoint
from nodelab.lab.cri_harness.registry import (
    LocalRegistry,
    local_registry,
    push_busybox,
    whiteout_layer,
)
from nodelab.oci.image import ImageConfig

from .cri_pod import Pod
from .privileges import need_root


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt install docker-registry)")
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        push_busybox(reg)
        push_busybox(reg, "whiteout", extra=[whiteout_layer()])
        push_busybox(reg, "pause", config=ImageConfig(cmd=("sleep", "infinity")))
        push_busybox(reg, "stopsig", config=ImageConfig(cmd=("sh",), stop_signal="SIGINT"))
        yield reg


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def pull(endpoint: Endpoint) -> None:
    endpoint.image_stub().PullImage(
        cri.PullImageRequest(image=cri.ImageSpec(image=endpoint.image())), timeout=120)


@pytest.fixture(scope="module", params=["nodelab", "containerd"])
def endpoint(request: pytest.FixtureRequest, registry: LocalRegistry,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    need_root()
    tmp = tmp_path_factory.mktemp(f"cri-{request.param}")
    if request.param == "nodelab":
        for tool in ("runc", "conmon"):
            if shutil.which(tool) is None:
                pytest.skip(f"{tool} is not installed")
        with nodelab_endpoint(tmp, registry) as ep:
            pull(ep)
            yield ep
    else:
        from nodelab.lab.cri_harness.containerd import containerd_endpoint, containerd_missing

        reason = containerd_missing()
        if reason:
            pytest.skip(reason)
        with containerd_endpoint(tmp, registry) as ep:
            pull(ep)
            yield ep


@pytest.fixture
def pod(endpoint: Endpoint, tmp_path: Path) -> Iterator[Pod]:
    p = Pod(endpoint, tmp_path)
    try:
        yield p
    finally:
        p.remove()
