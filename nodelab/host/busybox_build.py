"""Building the demo images' busybox from Debian 13's source, without the applet preference.

Debian's busybox-static is configured for a rescue shell: `FEATURE_SH_STANDALONE` and
`FEATURE_PREFER_APPLETS` make its `sh` (and `env`, `xargs`, `timeout`...) run an applet by name
before looking at PATH, and its `nc` is the small one, without `-z`. In a pod that means
`sh -c 'nc -z HOST PORT'` reaches the small applet whatever the image puts in /usr/bin. Debian's
own dynamic busybox (`debian/config/pkg/deb`) leaves both preferences off, as upstream's
defconfig does.

`bash scripts/setup env` runs `python -m nodelab.host.busybox_build`, which fetches the source
package through apt (a private deb-src list and cache: the host's apt sources and packages stay
as they are; apt checks the archive's signature and each file's hash), unpacks it with
`dpkg-source` (Debian's patches applied), takes Debian's static configuration
(`debian/config/pkg/static`) with the changes of `CHANGES` and builds it with the machine's C
compiler into `BUILT` (about a minute of CPU). `image_config` is the pure part: the config text
in, the config text out, refusing a config that no longer names an option it changes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.busybox import BUILT
from nodelab.host.commands import run

SUITE = "trixie"  # Debian 13: busybox 1.37, whose wget -T does not crash
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
STATIC_CONFIG = "debian/config/pkg/static"

# option -> wanted value; every other option stays as Debian's busybox-static has it.
CHANGES: Mapping[str, bool] = {
    "CONFIG_FEATURE_SH_STANDALONE": False,  # sh: PATH first, as a shell in any image
    "CONFIG_FEATURE_PREFER_APPLETS": False,  # env, xargs, timeout...: exec through PATH
    "CONFIG_NC_110_COMPAT": True,  # the full nc: -z, -v, -w, -n, -u (upstream's nc_bloaty.c)
    "CONFIG_PRINTENV": True,  # upstream's printenv applet (Debian leaves it out)
}


class BusyboxConfigError(NodelabError):
    pass


def _line(option: str, enabled: bool) -> str:
    return f"{option}=y" if enabled else f"# {option} is not set"


def image_config(debian_static: str, changes: Mapping[str, bool] = CHANGES) -> str:
    """Debian's static config with `changes` applied; each option must be named exactly once."""
    lines = debian_static.splitlines()
    for option, enabled in changes.items():
        found = [i for i, line in enumerate(lines)
                 if line in (_line(option, True), _line(option, False))]
        if len(found) != 1:
            raise BusyboxConfigError(
                f"{STATIC_CONFIG} names {option} {len(found)} times (expected once, as "
                f"`{option}=y` or `# {option} is not set`): Debian's busybox config changed; "
                "update nodelab/host/busybox_build.py's CHANGES")
        lines[found[0]] = _line(option, enabled)
    return "\n".join(lines) + "\n"


def _apt_options(work: Path) -> list[str]:
    (work / "lists" / "partial").mkdir(parents=True)
    (work / "archives" / "partial").mkdir(parents=True)
    sources = work / "sources.list"
    sources.write_text(f"deb-src [signed-by={KEYRING}] http://deb.debian.org/debian {SUITE} main\n")
    return ["-qq", "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={work / 'lists'}",
            "-o", f"Dir::Cache::Archives={work / 'archives'}", "-o", "APT::Sandbox::User=root"]


def build(dest: Path = BUILT) -> Path:
    """Fetch, configure and build busybox into `dest` (a temporary file renamed into place)."""
    if not KEYRING.is_file():
        raise NodelabError(f"no {KEYRING}: `apt-get install debian-archive-keyring` "
                           "(apt checks the busybox source's signature with it)")
    with tempfile.TemporaryDirectory(prefix="nodelab-busybox-") as tmp:
        work = Path(tmp)
        options = _apt_options(work)
        run(["apt-get", *options, "update"], timeout=300)
        run(["apt-get", *options, "source", "--download-only", "busybox"], timeout=300,
            cwd=work)
        dsc = next(work.glob("busybox_*.dsc"), None)
        if dsc is None:
            raise NodelabError(f"`apt-get source busybox` ({SUITE}) downloaded no .dsc")
        source = work / "src"
        run(["dpkg-source", "-x", str(dsc), str(source)], timeout=300)
        config = image_config((source / STATIC_CONFIG).read_text())
        (source / ".config").write_text(config)
        # options this config does not name take their defaults (Kconfig asks; "\n" answers)
        run(["make", "oldconfig"], input="\n" * 2000, timeout=300, cwd=source)
        run(["make", f"-j{os.cpu_count() or 1}", "busybox"], timeout=3600, cwd=source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        shutil.copyfile(source / "busybox", partial)
        partial.chmod(0o755)
        partial.replace(dest)
    return dest


def main() -> int:
    if BUILT.exists():
        return 0
    print(f"building busybox {SUITE} without the applet preference into {BUILT}", flush=True)
    try:
        build()
    except NodelabError as exc:
        print(f"could not build busybox ({exc}): the demo images carry "
              "a busybox-static with nodelab's scripts instead", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
