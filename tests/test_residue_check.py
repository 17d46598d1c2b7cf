"""The suite's residue check leaves out what names another session's state base or lab."""

from __future__ import annotations

import pytest

from tests.conftest import foreign

pytestmark = pytest.mark.unit

BASES = ["/tmp/nlt-other"]
LABS = ["t1e863", "demo"]


@pytest.mark.parametrize("item, theirs", [
    ("netns nlt1e863-node1-2f654aec11cc", True),
    ("link nldemo-br", True),
    ("cgroup /sys/fs/cgroup/cpu/nodelab/t1e863", True),
    ("mount /tmp/nlt-other/t1e863/nodes/node1/runtime/containers/x/rootfs", True),
    ("process 22803 /usr/bin/conmon --api-version 1 -c 5572fc (lab t1e863)", True),
    ("iptables nat NLT1E863-POSTROUTING", True),
    # this session's own, or nobody's: reported
    ("netns nlt0b65e-node1", False),
    ("process 17644 /usr/bin/conmon --api-version 1 -c f26901 (lab t0b65e)", False),
    ("mount /tmp/nlt-others-too/x", False),
    ("netns nl9d45-bnode", False),
    ("link nldemox-br", False),
])
def test_foreign(item: str, theirs: bool) -> None:
    assert foreign(item, BASES, LABS) is theirs
