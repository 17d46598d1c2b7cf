"""Volume ownership for a pod's `fsGroup` (upstream's `SetVolumeOwnership`).

Volumes the kubelet makes itself (emptyDir, configMap, secret, downwardAPI, projected; never
hostPath) are handed to the pod's `fsGroup`: every file and directory gets that group, files
gain group read (and write, for writable volumes: `0660`; read-only ones `0440`), directories
also group execute and the setgid bit, so what the containers create inside inherits the
group. With `fsGroupChangePolicy: OnRootMismatch` the walk is skipped when the volume's root
already has the group, the permissions and the setgid bit (upstream's
`requiresPermissionChange`); `Always` (the default) walks every time the volume is set up.

`needs_change` is the decision (pure, on a `stat` result); `apply_ownership` the action.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

RW_MASK, RO_MASK, EXEC_MASK = 0o660, 0o440, 0o110
OWNED_PLUGINS = ("emptyDir", "configMap", "secret", "downwardAPI", "projected")


def needs_change(root: os.stat_result, fs_group: int, readonly: bool) -> bool:
    """Whether the volume root lacks what `fsGroup` asks for (upstream's rule)."""
    if root.st_gid != fs_group or not stat.S_ISDIR(root.st_mode):
        return True
    wanted = (RO_MASK if readonly else RW_MASK) | EXEC_MASK
    return (stat.S_IMODE(root.st_mode) & wanted) != wanted or not root.st_mode & stat.S_ISGID


def new_mode(current: int, readonly: bool) -> int:
    """The mode a file or directory gets under fsGroup (permission bits and setgid)."""
    mask = RO_MASK if readonly else RW_MASK
    if stat.S_ISDIR(current):
        mask |= stat.S_ISGID | EXEC_MASK
    return stat.S_IMODE(current) | mask


def apply_ownership(root: Path, fs_group: int, readonly: bool, policy: str = "Always") -> None:
    if policy == "OnRootMismatch" and not needs_change(os.stat(root), fs_group, readonly):
        return
    for directory, dirs, files in os.walk(root):
        for path in [directory, *(os.path.join(directory, n) for n in dirs + files)]:
            if path != directory and os.path.isdir(path) and not os.path.islink(path):
                continue  # visited as its own `directory`
            info = os.lstat(path)
            os.lchown(path, -1, fs_group)
            if not stat.S_ISLNK(info.st_mode):
                os.chmod(path, new_mode(info.st_mode, readonly))
