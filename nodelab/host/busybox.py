"""The static busybox the demo images are built from, and what it does that matters in a pod.

`scripts/setup` builds one from Debian 13's source (nodelab/host/busybox_build.py) into `BUILT`:
Debian's busybox-static configuration without the applet preference (`sh -c 'nc ...'` finds
`nc` through PATH) and with the full `nc` (`-z`) and `printenv`. Without it (no network, no
compiler) the images carry the host's `/bin/busybox` (Debian 12's busybox-static 1.35), and
nodelab/lab/registry/image_tools.py puts scripts beside it for what it lacks. `find_busybox`
takes the first static binary of `CANDIDATES` and probes it:

- `wget -T` crashes (Debian 12's 1.35; fixed in Debian's 1.36.1-5);
- its shell runs applets before PATH (`FEATURE_SH_STANDALONE`): `command -v nc` answers `nc`
  with no `nc` on PATH;
- its `nc` takes `-z` (the full nc; the small one says "invalid option");
- it has a `printenv` applet.

The probes never leave the machine: they connect to port 1 on loopback, which refuses at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

from nodelab.errors import NodelabError
from nodelab.host.binaries import is_static_elf
from nodelab.host.commands import run

# The suffix changes with busybox_build.CHANGES, so that `scripts/setup` builds the new one.
BUILT = Path("/usr/local/lib/nodelab/busybox-images-1")
HOST = Path("/bin/busybox")
CANDIDATES = (BUILT, HOST)

WGET_PROBE = ("wget", "-q", "-T", "1", "-O", "/dev/null", "http://127.0.0.1:1/")
APPLETS_FIRST_PROBE = ("sh", "-c", "command -v nc")  # run with an empty PATH
NC_PROBE = ("nc", "-z", "127.0.0.1", "1")


@dataclass(frozen=True)
class Busybox:
    path: Path
    wget_crashes_on_timeout: bool
    applets_first: bool  # its sh runs an applet by name before looking at PATH
    nc_zero_io: bool  # its nc takes -z
    has_printenv: bool


def crashed(returncode: int) -> bool:
    """A process killed by SIGSEGV (subprocess's -11, or a shell's 139)."""
    return returncode in (-11, 139)


def probe(path: Path) -> Busybox:
    def tried(*argv: str) -> CompletedProcess[str]:
        return run([str(path), *argv], check=False, timeout=10, env={"PATH": "/nonexistent"})

    applets = set(tried("--list").stdout.split())
    return Busybox(
        path,
        wget_crashes_on_timeout=crashed(tried(*WGET_PROBE).returncode),
        applets_first=tried(*APPLETS_FIRST_PROBE).returncode == 0,
        nc_zero_io="invalid option" not in tried(*NC_PROBE).stderr,
        has_printenv="printenv" in applets,
    )


def find_busybox(candidates: Sequence[Path] = CANDIDATES) -> Busybox:
    for path in candidates:
        if path.exists() and is_static_elf(path):
            return probe(path)
    raise NodelabError(
        f"no static busybox at {' or '.join(map(str, candidates))}: `apt-get install "
        "busybox-static` or `bash scripts/setup env` (the demo images are built from it)"
    )
