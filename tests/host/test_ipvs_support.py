"""Whether the kernel has ip_vs (nodelab/host/ipvs.py), and the refusal of IPVS mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.host.ipvs import ipvs_in_kernel
from nodelab.lab.lab import Lab
from nodelab.lab.paths import state_base
from nodelab.lab.preconditions import refuse_ipvs_mode

RELEASE = "6.1.0-test"


def tree(tmp_path: Path, *, proc: bool = False, builtin: str = "", module: bool = False) -> Path:
    mods = tmp_path / "modules" / RELEASE
    mods.mkdir(parents=True)
    if proc:
        (tmp_path / "ip_vs").write_text("IP Virtual Server version 1.2.1 (size=4096)\n")
    if builtin:
        (mods / "modules.builtin").write_text(builtin)
    if module:
        ipvs = mods / "kernel/net/netfilter/ipvs"
        ipvs.mkdir(parents=True)
        (ipvs / "ip_vs.ko.xz").write_bytes(b"")
    return tmp_path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("kw", "present", "says"),
    [
        ({"proc": True}, True, "ip_vs exists"),
        ({"builtin": "kernel/net/netfilter/ipvs/ip_vs.ko\n"}, True, "built into kernel"),
        ({"module": True}, True, "ip_vs.ko.xz"),
        ({"builtin": "kernel/net/netfilter/ip_set.ko\n"}, False, "has no ip_vs module"),
        ({}, False, "has no ip_vs module"),
    ],
)
def test_ipvs_in_kernel(tmp_path: Path, kw: dict[str, object], present: bool, says: str) -> None:
    root = tree(tmp_path, **kw)  # type: ignore[arg-type]
    found, detail = ipvs_in_kernel(root / "ip_vs", root / "modules", RELEASE)
    assert found is present and says in detail


NO_IPVS = not ipvs_in_kernel()[0]


@pytest.mark.unit
@pytest.mark.skipif(not NO_IPVS, reason="this kernel has ip_vs: the refusal names no module")
def test_ipvs_mode_is_refused_naming_the_missing_module(tmp_path: Path) -> None:
    with pytest.raises(NodelabError) as info:
        refuse_ipvs_mode("bring lab x up")
    text = str(info.value)
    assert "needs the kernel module ip_vs" in text and os.uname().release in text
    assert "nodelab proxy-plan --mode ipvs" in text and "--proxy-mode iptables" in text
    with pytest.raises(NodelabError, match="needs the kernel module ip_vs"):
        Lab.up("nlipvs", proxy_mode="ipvs", base=tmp_path)
    assert list(tmp_path.iterdir()) == [], "nothing was made for the refused lab"


@pytest.mark.skipif(not NO_IPVS, reason="this kernel has ip_vs: the refusal names no module")
def test_nodelab_up_proxy_mode_ipvs_says_why_and_where_to_look() -> None:
    done = subprocess.run([sys.executable, "-m", "nodelab", "up", "--name", "nlipvs",
                           "--proxy-mode", "ipvs"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert ("\nnodelab up: cannot bring lab nlipvs up with --proxy-mode ipvs: kube-proxy's "
            "IPVS mode needs the kernel module ip_vs") in done.stderr
    assert not (state_base() / "nlipvs").exists()
