"""The static busybox the demo images are built from, and whether its `wget -T` crashes.

Debian 12's busybox-static (1.35) crashes on `wget -T` (nodelab/lab/registry/image_tools.py
says why); Debian fixed it in 1.36.1-5. `scripts/setup` fetches Debian 13's busybox-static into
`FETCHED` through apt with a private source list (the host's own packages and sources stay as
they are; apt checks the archive's signature). The images carry the first static binary of
`FETCHED` and the host's `/bin/busybox`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nodelab.errors import NodelabError
from nodelab.host.binaries import is_static_elf
from nodelab.host.commands import run

FETCHED = Path("/usr/local/lib/nodelab/busybox")
HOST = Path("/bin/busybox")
CANDIDATES = (FETCHED, HOST)

# The probe never leaves the machine: the crash is in option parsing, and a busybox that parses
# -T tries port 1 on loopback, which refuses at once.
PROBE = ("wget", "-q", "-T", "1", "-O", "/dev/null", "http://127.0.0.1:1/")


@dataclass(frozen=True)
class Busybox:
    path: Path
    wget_crashes_on_timeout: bool


def crashed(returncode: int) -> bool:
    """A process killed by SIGSEGV (subprocess's -11, or a shell's 139)."""
    return returncode in (-11, 139)


def find_busybox(candidates: Sequence[Path] = CANDIDATES) -> Busybox:
    for path in candidates:
        if path.exists() and is_static_elf(path):
            probe = run([str(path), *PROBE], check=False, timeout=10)
            return Busybox(path, crashed(probe.returncode))
    raise NodelabError(
        f"no static busybox at {' or '.join(map(str, candidates))}: `apt-get install "
        "busybox-static` or `bash scripts/setup env` (the demo images are built from it)"
    )
