"""Security test fixtures: a victim tree, a registry for hostile images, one lab (the figure is
printed by tests/conftest.py, which a pytest-xdist controller loads too)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodelab.lab.cri_harness.registry import LocalRegistry, local_registry
from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab
from tests.controlplane.apiserver import RunningApiServer, running_apiserver

from .victim import make_victim


@pytest.fixture(scope="session")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tree outside every root the hostile inputs target (kept for the whole session)."""
    return make_victim(tmp_path_factory.mktemp("victim") / "host")


@pytest.fixture(scope="session")
def hostile_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (apt install docker-registry)")
    with local_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def apiserver() -> Iterator[RunningApiServer]:
    """An API server of its own for each module that asks (fresh state)."""
    with running_apiserver() as server:
        yield server


@pytest.fixture(scope="package")
def lab() -> Iterator[Lab]:
    """One lab for the suite's lab tests (its files' modes, its registry's refusals, hostile
    volumes): each only adds pods and images of its own names, so they share it (each lab
    up and down is ~20 s)."""
    with one_node_lab() as lab:
        yield lab
