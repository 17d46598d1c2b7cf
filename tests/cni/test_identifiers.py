"""The names of a CNI call, checked as upstream's pkg/utils does (identifiers.py)."""

from __future__ import annotations

import pytest

from nodelab.cni.errors import CNIError
from nodelab.cni.identifiers import check_container_id, check_interface_name, check_network_name

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("value", "code", "msg"), [
    ("0123abc", None, ""),
    ("a_b.c-d", None, ""),
    ("", 3, "missing containerID"),
    ("-a", 4, "invalid characters in containerID"),
    ("../x", 4, "invalid characters in containerID"),
    ("a/b", 4, "invalid characters in containerID"),
    ("a b", 4, "invalid characters in containerID"),
    ("a\n", 4, "invalid characters in containerID"),
])
def test_container_id(value: str, code: int | None, msg: str) -> None:
    if code is None:
        check_container_id(value)
        return
    with pytest.raises(CNIError) as refused:
        check_container_id(value)
    assert (refused.value.code, refused.value.msg) == (code, msg)


@pytest.mark.parametrize(("value", "ok"), [
    ("kindnet", True), ("10-nodelab", True), ("a.b_c", True), ("", False), (".net", False),
    ("..", False), ("a/b", False), ("/abs", False), ("n\n", False),
])
def test_network_name(value: str, ok: bool) -> None:
    if ok:
        check_network_name(value)
        return
    with pytest.raises(CNIError) as refused:
        check_network_name(value)
    assert refused.value.code == 7


@pytest.mark.parametrize(("value", "msg"), [
    ("eth0", ""),
    ("e" * 15, ""),
    ("net1.100", ""),
    ("", "interface name is empty"),
    ("e" * 16, "interface name is too long"),
    ("é" * 8, "interface name is too long"),  # 16 bytes: the kernel counts bytes
    (".", "interface name is . or .."),
    ("..", "interface name is . or .."),
    ("a/b", "interface name contains / or : or whitespace characters"),
    ("eth0:1", "interface name contains / or : or whitespace characters"),
    ("eth 0", "interface name contains / or : or whitespace characters"),
    ("eth0\t", "interface name contains / or : or whitespace characters"),
])
def test_interface_name(value: str, msg: str) -> None:
    if not msg:
        check_interface_name(value)
        return
    with pytest.raises(CNIError) as refused:
        check_interface_name(value)
    assert (refused.value.code, refused.value.msg) == (4, msg)
