"""podnet's policy applier outside a lab: in a scratch network namespace, bridged traffic is
handed to the netfilter hooks (what same-node policies rely on); and where the flag is the
host's (kernels before 5.3), it is left alone and reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nodelab.host.doctor import bridge_flags_per_netns
from nodelab.podnet.policies import NOT_ENFORCED, filter_bridged_traffic


@pytest.mark.privileged
def test_filter_bridged_traffic_turns_bridge_nf_call_iptables_on() -> None:
    script = ("from pathlib import Path\n"
              "from nodelab.podnet.policies import filter_bridged_traffic\n"
              "from nodelab.host.doctor import BRIDGE_NF_CALL_IPTABLES as flag\n"
              "Path(flag).write_text('0')\n"
              "print(repr(filter_bridged_traffic()), Path(flag).read_text().strip())\n")
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", script],
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["''", "1"]


@pytest.mark.parametrize(("release", "per_netns"), [
    ("6.18.44-fc-v1098", True), ("5.3.0", True), ("5.10.0-21-amd64", True),
    ("5.2.21", False), ("4.19.0-26-amd64", False), ("3.10.0-1160.el7.x86_64", False),
    ("weird", False)])
def test_bridge_flags_are_per_namespace_from_kernel_5_3(release: str, per_netns: bool) -> None:
    assert bridge_flags_per_netns(release) is per_netns


@pytest.mark.parametrize(("release", "before", "after", "reported"), [
    ("6.1.0", "0", "1\n", ""),
    ("6.1.0", "1", "1", ""),
    ("4.19.0", "1", "1", ""),
    ("4.19.0", "0", "0", "kernel 4.19.0 (< 5.3) shares it with the whole host")])
def test_the_flag_is_written_only_where_it_is_the_namespaces(
        tmp_path: Path, release: str, before: str, after: str, reported: str) -> None:
    flag = tmp_path / "bridge-nf-call-iptables"
    flag.write_text(before)
    problem = filter_bridged_traffic(flag, release)
    assert flag.read_text() == after
    assert (reported in problem and NOT_ENFORCED in problem) if reported else problem == ""


def test_no_br_netfilter_is_reported(tmp_path: Path) -> None:
    problem = filter_bridged_traffic(tmp_path / "absent", "6.1.0")
    assert problem.startswith(NOT_ENFORCED) and "modprobe br_netfilter" in problem
