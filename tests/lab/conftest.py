"""The lab suite's shared one-node lab (`cluster`), up once for every module that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab


@pytest.fixture(scope="session")
def cluster() -> Iterator[Lab]:
    with one_node_lab() as lab:
        yield lab
