"""Fixtures for the runtime tests: a local registry with busybox images, root checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cri_registry import LocalRegistry, local_registry, push_busybox


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mknod, overlayfs, namespaces, runc)")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt install docker-registry)")
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        push_busybox(reg)
        yield reg


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"
