"""A state dir too deep for a node's runtime socket is refused by `up` before anything is made
(nodelab/lab/preconditions.py): the runtime would otherwise fail to listen, deep in `up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.lab import Lab
from nodelab.lab.preconditions import check_socket_path
from tests.conftest import needs_root, unique_lab_name


@pytest.mark.unit
@pytest.mark.parametrize(("length", "runtime", "refused"), [
    (107, "nodelab", False),
    (108, "nodelab", True),
    (101, "containerd", False),  # plus ".ttrpc": 107
    (102, "containerd", True),
])
def test_a_socket_path_over_107_bytes_is_refused(length: int, runtime: str,
                                                 refused: bool) -> None:
    socket = Path("/" + "d" * (length - len("/runtime.sock") - 1) + "/runtime.sock")
    assert len(str(socket)) == length
    if refused:
        with pytest.raises(NodelabError, match="NODELAB_STATE_DIR to a shorter directory"):
            check_socket_path(socket, runtime)
    else:
        check_socket_path(socket, runtime)


@pytest.mark.privileged
@needs_root
def test_up_under_a_too_deep_base_is_refused_and_makes_nothing(tmp_path: Path) -> None:
    base = tmp_path / ("deep" * 20)
    base.mkdir()
    with pytest.raises(NodelabError, match=r"is too deep for its sockets: .*/nodes/node2/"):
        Lab.up(unique_lab_name(), nodes=2, base=base)
    assert list(base.iterdir()) == []
