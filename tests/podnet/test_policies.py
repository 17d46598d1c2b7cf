"""podnet's policy applier outside a lab: in a scratch network namespace, bridged traffic is
handed to the netfilter hooks (what same-node policies rely on)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.privileged


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
