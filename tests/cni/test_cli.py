"""`nodelab cni add|check|del|status` on a named netns, as a learner would type it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nodelab.cli import main
from nodelab.cni import plugin_dir

from .conftest import IS_ROOT, Node


@pytest.mark.unit
def test_a_bad_conflist_fails_with_the_spec_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "bad.conflist"
    conf.write_text("{nope")
    assert main(["cni", "status", str(conf)]) == 1
    assert "code 6" in capsys.readouterr().err


@pytest.mark.privileged
@pytest.mark.skipif(not IS_ROOT, reason="needs root: real network namespaces")
def test_add_check_del_by_hand(
    make_node: Callable[[str], Node], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    node = make_node("nodelab")
    pod = node.pod("cli")
    conflist = node.conflist(version="1.1.0")
    conf = tmp_path / "10-pods.conflist"
    conf.write_text(json.dumps(conflist.raw))
    common = [
        "--in-netns",
        node.name,
        "--plugin-path",
        str(plugin_dir()),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]

    assert main(["cni", "add", str(conf), pod, *common]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ips"][0]["address"] == "10.250.7.2/24"
    assert (tmp_path / "cache" / "results" / f"{conflist.name}-nodelab-{pod}-eth0").exists()
    assert main(["cni", "check", str(conf), pod, *common]) == 0
    assert main(["cni", "status", str(conf), *common]) == 0
    assert main(["cni", "del", str(conf), pod, *common]) == 0
    assert main(["cni", "del", str(conf), pod, *common]) == 0
    assert "eth0" not in node.exec(pod, "ip", "link")
