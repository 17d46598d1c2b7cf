"""One one-node lab for every docs-example module: each module applies its examples to it
when it starts (a lab takes 20-60 s to bring up and 20 s to take down, the examples seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab
from tests.conftest import one_node_lab


@pytest.fixture(scope="package")
def docs_lab() -> Iterator[Lab]:
    with one_node_lab() as lab:
        yield lab
