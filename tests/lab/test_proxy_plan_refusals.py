"""What `nodelab proxy-plan` refuses before it reads anything (nodelab/lab/proxy_plan.py)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.lab.description import LabDescription
from nodelab.lab.lab import Lab
from nodelab.lab.proxy_plan import proxy_plan_text

pytestmark = pytest.mark.unit


def lab(tmp_path: Path, joined: str = "") -> Lab:
    return Lab(LabDescription("pp", ipaddress.IPv4Network("172.29.9.0/24"), 1,
                              joined=joined), tmp_path)


def test_a_joined_lab_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NodelabError, match="lab pp is a joined lab .* embedded labs only"):
        proxy_plan_text(lab(tmp_path, joined="https://192.0.2.1:6443"), "node1")


def test_an_unknown_mode_or_node_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NodelabError, match="proxy mode 'userspace': choose one of ipvs, "
                                           "iptables, nftables"):
        proxy_plan_text(lab(tmp_path), "node1", "userspace")
    with pytest.raises(NodelabError, match="lab pp has no node 'node7': its nodes are node1"):
        proxy_plan_text(lab(tmp_path), "node7")
