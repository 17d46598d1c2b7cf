"""Writing a state file so that a crash or a full filesystem never leaves it half written.

`write_atomic` writes a sibling temporary file, flushes it and renames it over the target:
readers see the old content or the new, never a torn one. When the write fails (ENOSPC on a
full state filesystem, EDQUOT, EIO) the temporary file is removed, the target is untouched,
and the error is raised as `StateWriteError`, which names the file and says what to do.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from nodelab.errors import NodelabError

FULL = (errno.ENOSPC, errno.EDQUOT)  # the errors of a full filesystem (or quota)


class StateWriteError(NodelabError):
    pass


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` in one step (old or new content, never a mix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            data = text.encode()
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise state_write_error(path, exc) from exc


def state_write_error(path: Path, exc: OSError) -> StateWriteError:
    if exc.errno in FULL:
        return StateWriteError(
            f"cannot write {path}: the filesystem is full ({exc.strerror}); nothing was "
            f"changed: free space on the filesystem of {path.parent} and try again")
    return StateWriteError(f"cannot write {path}: {exc.strerror or exc}")


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file ("(no log)" if there is none)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
