"""Which busybox the demo images carry, what it lacks, and the tools nodelab puts beside it
(nodelab/host/busybox.py, busybox_build.py, nodelab/lab/registry/image_tools.py), with the
real binaries."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from nodelab.errors import NodelabError
from nodelab.host.busybox import BUILT, HOST, Busybox, crashed, find_busybox, probe
from nodelab.host.busybox_build import CHANGES, BusyboxConfigError, image_config
from nodelab.lab.registry.image_tools import PATH_ENV, SHELL_ENV, image_tools

pytestmark = pytest.mark.unit
needs_host = pytest.mark.skipif(not HOST.exists(), reason="needs busybox-static (scripts/setup)")
needs_built = pytest.mark.skipif(
    not BUILT.exists(), reason=f"needs the busybox `bash scripts/setup env` builds into {BUILT}")

NOTHING_MISSING = Busybox(Path("b"), wget_crashes_on_timeout=False, applets_first=False,
                          nc_zero_io=True, has_printenv=True)
DEBIAN_12 = Busybox(Path("b"), wget_crashes_on_timeout=True, applets_first=True,
                    nc_zero_io=False, has_printenv=False)
DEBIAN_13 = Busybox(Path("b"), wget_crashes_on_timeout=False, applets_first=True,
                    nc_zero_io=False, has_printenv=False)
PATH_FIRST_SMALL_NC = Busybox(Path("b"), wget_crashes_on_timeout=False, applets_first=False,
                              nc_zero_io=False, has_printenv=True)


@pytest.mark.parametrize(("busybox", "scripts", "hooks", "env"), [
    (NOTHING_MISSING, set(), None, (PATH_ENV,)),
    (DEBIAN_12, {"usr/bin/wget", "usr/bin/printenv", "usr/bin/nc"}, {"nc()", "wget()"},
     (PATH_ENV, SHELL_ENV)),
    (DEBIAN_13, {"usr/bin/printenv", "usr/bin/nc"}, {"nc()"}, (PATH_ENV, SHELL_ENV)),
    # a shell that looks at PATH first finds /usr/bin/nc without a hook
    (PATH_FIRST_SMALL_NC, {"usr/bin/nc"}, None, (PATH_ENV,)),
])
def test_image_tools(busybox: Busybox, scripts: set[str], hooks: set[str] | None,
                     env: tuple[str, ...]) -> None:
    tools = image_tools(busybox)
    assert (set(tools.scripts), tools.env) == (scripts, env)
    if hooks is None:
        assert not tools.files
    else:
        shrc = tools.files["etc/shrc"]
        assert {hook for hook in ("nc()", "wget()") if hook in shrc} == hooks


STATIC = """CONFIG_STATIC=y
CONFIG_FEATURE_PREFER_APPLETS=y
# CONFIG_PRINTENV is not set
# CONFIG_NC_110_COMPAT is not set
CONFIG_FEATURE_SH_STANDALONE=y
"""


def test_image_config_turns_the_applet_preference_off_and_the_full_nc_on() -> None:
    assert image_config(STATIC) == """CONFIG_STATIC=y
# CONFIG_FEATURE_PREFER_APPLETS is not set
CONFIG_PRINTENV=y
CONFIG_NC_110_COMPAT=y
# CONFIG_FEATURE_SH_STANDALONE is not set
"""
    assert set(CHANGES) == {"CONFIG_FEATURE_PREFER_APPLETS", "CONFIG_PRINTENV",
                            "CONFIG_NC_110_COMPAT", "CONFIG_FEATURE_SH_STANDALONE"}


@pytest.mark.parametrize(("config", "count"), [
    (STATIC.replace("CONFIG_FEATURE_SH_STANDALONE=y\n", ""), 0),
    (STATIC + "# CONFIG_FEATURE_SH_STANDALONE is not set\n", 2),
])
def test_a_config_that_changed_is_refused(config: str, count: int) -> None:
    with pytest.raises(BusyboxConfigError,
                       match=f"names CONFIG_FEATURE_SH_STANDALONE {count} times .*update"):
        image_config(config)


@pytest.mark.parametrize(("returncode", "expected"), [(-11, True), (139, True), (0, False),
                                                      (1, False), (-15, False)])
def test_crashed(returncode: int, expected: bool) -> None:
    assert crashed(returncode) is expected


@needs_host
def test_debian_12s_busybox_lacks_what_the_scripts_add() -> None:
    assert probe(HOST) == dataclasses.replace(DEBIAN_12, path=HOST)


@needs_built
def test_the_built_busybox_comes_first_and_lacks_nothing() -> None:
    busybox = find_busybox()
    assert busybox == Busybox(BUILT, wget_crashes_on_timeout=False, applets_first=False,
                              nc_zero_io=True, has_printenv=True)
    assert image_tools(busybox).scripts == {}


@needs_host
def test_a_binary_that_is_not_static_is_passed_over(tmp_path: Path) -> None:
    dynamic = tmp_path / "busybox"
    shutil.copy("/bin/ls", dynamic)
    assert find_busybox([dynamic, HOST]).path == HOST


def test_no_busybox_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NodelabError, match="no static busybox at .*: `apt-get install"):
        find_busybox([tmp_path / "none"])
