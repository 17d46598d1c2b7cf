"""hostPath volumes: the `type` check before the mount (upstream's pkg/volume/hostpath).

`check_type` is upstream's checkTypeInternal as a pure decision over what is at the path:

| type              | nothing there         | something there                                  |
|-------------------|-----------------------|--------------------------------------------------|
| `""` (unset)      | no check (the runtime decides) | no check                                |
| DirectoryOrCreate | make it (0755)        | must be a directory                              |
| Directory         | "is not a directory"  | must be a directory                              |
| FileOrCreate      | make it (0644)        | must be a file                                   |
| File              | "is not a file"       | must be a file                                   |
| Socket            | "is not a socket file" | must be a socket                                |
| CharDevice        | "is not a character device" | must be a character device                 |
| BlockDevice       | "is not a block device" | must be a block device                         |

A failed check is upstream's `hostPath type check failed: <path> is not a directory`; the
kubelet reports it as a `FailedMount` event (`MountVolume.SetUp failed for volume "v" : ...`)
and the pod waits in ContainerCreating until the path is right. A directory or file the kubelet
makes is made through the path as the node sees it, with upstream's modes (MkdirAll 0755,
OpenFile O_CREATE 0644, both under the process umask, as upstream).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nodelab.kube.objects import ObjectView

TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
         "BlockDevice")
_WANTED = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


@dataclass(frozen=True)
class TypeCheck:
    make: str = ""  # "directory" or "file": create it, then it is right
    error: str = ""  # the check failed


def check_type(path: str, path_type: str, mode: int | None) -> TypeCheck:
    """What the `type` asks for `path`, given its `st_mode` (None: nothing there)."""
    if path_type == "":
        return TypeCheck()
    if path_type not in TYPES:
        return TypeCheck(error=f"{path_type} is an invalid volume type")
    if path_type in ("DirectoryOrCreate", "FileOrCreate"):
        if mode is None:
            return TypeCheck(make="directory" if path_type == "DirectoryOrCreate" else "file")
        path_type = path_type.removesuffix("OrCreate")
    test, what = _WANTED[path_type]
    if mode is None or not test(mode):
        return TypeCheck(error=f"hostPath type check failed: {path} is not {what}")
    return TypeCheck()


class HostPathError(Exception):
    """The hostPath `type` check failed (the message is upstream's)."""


def _go_error(op: str, path: str, exc: OSError) -> HostPathError:
    """An OSError as Go's os package words it (`mkdir /x: permission denied`)."""
    why = exc.strerror or str(exc)
    return HostPathError(f"{op} {exc.filename or path}: {why[:1].lower()}{why[1:]}")


def set_up_host_path(source: ObjectView) -> Path:
    """Check (and for the *OrCreate types make) a hostPath volume's path; its host path."""
    path = str(source.get("path") or "")
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _go_error("stat", path, exc) from exc
    check = check_type(path, str(source.get("type") or ""), mode)
    try:
        if check.make == "directory":
            os.makedirs(path, 0o755, exist_ok=True)
        elif check.make == "file":
            os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o644))
    except OSError as exc:
        raise _go_error("mkdir" if check.make == "directory" else "open", path, exc) from exc
    if check.error:
        raise HostPathError(check.error)
    return Path(path)
