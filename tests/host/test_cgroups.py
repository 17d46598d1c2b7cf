"""Removing a nodelab cgroup also removes the `nodelab/` group it leaves empty, never more."""

from __future__ import annotations

import secrets

import pytest

from nodelab.host.cgroups import hierarchies, remove_group_tree
from tests.conftest import needs_root

pytestmark = [pytest.mark.privileged, needs_root]


def test_removal_prunes_the_empty_nodelab_root_but_not_a_busy_one() -> None:
    hierarchy = next(h for h in hierarchies() if (h / "cgroup.procs").exists())
    root = hierarchy / "nodelab"
    first = root / f"nlc{secrets.token_hex(3)}"
    second = root / f"nlc{secrets.token_hex(3)}"
    (first / "pods" / "pod1").mkdir(parents=True)
    second.mkdir()
    try:
        remove_group_tree(first)
        assert not first.exists()
        assert root.is_dir(), "another group is still under nodelab/"
        remove_group_tree(second)
        assert not second.exists()
        others = root.is_dir() and any(p.is_dir() for p in root.iterdir())
        assert root.is_dir() == others, "an empty nodelab/ is removed with its last group"
        remove_group_tree(second)  # gone already: fine
    finally:
        for group in (first, second):
            if group.exists():
                remove_group_tree(group)
