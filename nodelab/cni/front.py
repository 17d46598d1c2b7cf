"""Building the plugin front (`front.c`): the executable behind every name in `bin/`.

`nodelab/cni/bin/bridge`, `host-local`, `loopback` and `portmap` are symbolic links to
`bin/nodelab-cni-front`, compiled from `front.c` with the machine's C compiler (scripts/setup
installs gcc). The binary is not in git: `ensure_built()` compiles it when it is missing or
older than its source, into a temporary file renamed into place, so several daemons starting
at once never see half a binary. The CNI daemon (`server.py`) calls it before it serves, and
`bash scripts/setup env` runs `python -m nodelab.cni.front`.

Why C: the front runs once per plugin per ADD and DEL, and its start-up is the whole cost it
adds. Measured here (2 cores, p50 of 40 starts): a static C program 0.75 ms, `/bin/sh -c :`
4 ms, `python3 -S -I -c pass` 10 ms and 21 ms once it imports socket, json and os: a Python
front alone would take longer than the reference plugins' whole ADD (about 11 ms).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from nodelab.cni.plugins import plugin_dir
from nodelab.errors import NodelabError
from nodelab.host.commands import CommandError, run

SOURCE = Path(__file__).resolve().parent / "front.c"
BINARY_NAME = "nodelab-cni-front"


def front_binary() -> Path:
    return plugin_dir() / BINARY_NAME


def needs_build(source: Path = SOURCE, binary: Path | None = None) -> bool:
    binary = binary or front_binary()
    return not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime


def ensure_built() -> Path:
    """Compile the front if it is missing or stale; return its path."""
    binary = front_binary()
    if not needs_build(SOURCE, binary):
        return binary
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise NodelabError(
            f"cannot build nodelab's CNI plugin front {binary}: no C compiler found "
            "(install gcc: `bash scripts/setup env` does)"
        )
    partial = binary.with_name(f".{BINARY_NAME}.{os.getpid()}")
    try:
        run([compiler, "-O2", "-Wall", "-o", str(partial), str(SOURCE)], timeout=120)
        os.replace(partial, binary)
    except CommandError as exc:
        raise NodelabError(f"cannot build nodelab's CNI plugin front {binary}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return binary


if __name__ == "__main__":
    try:
        print(ensure_built())
    except NodelabError as error:
        sys.exit(str(error))
