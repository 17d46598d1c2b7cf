"""Which busybox the demo images carry, and the tools nodelab puts beside it
(nodelab/host/busybox.py, nodelab/lab/registry/image_tools.py), with the real binaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.host.busybox import FETCHED, HOST, crashed, find_busybox
from nodelab.lab.registry.image_tools import PATH_ENV, SHELL_ENV, image_tools

pytestmark = pytest.mark.unit
needs_host = pytest.mark.skipif(not HOST.exists(), reason="needs busybox-static (scripts/setup)")
needs_fetched = pytest.mark.skipif(
    not FETCHED.exists(), reason=f"needs Debian 13's busybox in {FETCHED} (scripts/setup)")


@pytest.mark.parametrize(("crashes", "scripts", "files", "env"), [
    (True, {"usr/bin/wget", "usr/bin/printenv", "usr/bin/nc"}, {"etc/shrc"},
     (PATH_ENV, SHELL_ENV)),
    (False, {"usr/bin/printenv", "usr/bin/nc"}, {"etc/shrc"}, (PATH_ENV, SHELL_ENV)),
])
def test_image_tools(crashes: bool, scripts: set[str], files: set[str],
                     env: tuple[str, ...]) -> None:
    tools = image_tools(crashes)
    assert (set(tools.scripts), set(tools.files), tools.env) == (scripts, files, env)
    assert ("wget()" in tools.files["etc/shrc"]) is crashes
    assert "nc() { /usr/bin/nc" in tools.files["etc/shrc"]


@pytest.mark.parametrize(("returncode", "expected"), [(-11, True), (139, True), (0, False),
                                                      (1, False), (-15, False)])
def test_crashed(returncode: int, expected: bool) -> None:
    assert crashed(returncode) is expected


@needs_host
def test_debian_12s_busybox_crashes_on_wget_timeout() -> None:
    busybox = find_busybox([HOST])
    assert (busybox.path, busybox.wget_crashes_on_timeout) == (HOST, True)


@needs_fetched
def test_the_fetched_busybox_comes_first_and_its_wget_works() -> None:
    busybox = find_busybox()
    assert (busybox.path, busybox.wget_crashes_on_timeout) == (FETCHED, False)


@needs_host
def test_a_binary_that_is_not_static_is_passed_over(tmp_path: Path) -> None:
    dynamic = tmp_path / "busybox"
    shutil.copy("/bin/ls", dynamic)
    assert find_busybox([dynamic, HOST]).path == HOST


def test_no_busybox_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NodelabError, match="no static busybox at .*: `apt-get install"):
        find_busybox([tmp_path / "none"])
