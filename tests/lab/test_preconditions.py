"""The checks `up` and `join` share (nodelab/lab/preconditions.py)."""

from __future__ import annotations

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.names import MAX_NODES
from nodelab.lab.preconditions import check_node_count

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("nodes", [1, 2, MAX_NODES])
def test_node_counts_in_range_pass(nodes: int) -> None:
    check_node_count(nodes)


@pytest.mark.parametrize("nodes", [0, -1, MAX_NODES + 1])
def test_node_counts_out_of_range_say_the_range(nodes: int) -> None:
    with pytest.raises(NodelabError, match=f"--nodes must be between 1 and {MAX_NODES}, "
                                           f"not {nodes}"):
        check_node_count(nodes)
