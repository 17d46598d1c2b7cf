"""The lab suite's shared one-node lab (`cluster`), up once for every module that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodelab.lab.lab import Lab, take_down_lab
from tests.conftest import IS_ROOT, unique_lab_name


@pytest.fixture(scope="session")
def cluster() -> Iterator[Lab]:
    if not IS_ROOT:
        pytest.skip("needs root: a real lab")
    name = unique_lab_name()
    try:
        yield Lab.up(name, 1, progress=lambda _m: None)
    finally:
        take_down_lab(name)
