"""Files only their owner may read (keys, kubeconfigs, tokens), created that way from the start.

Writing a key and then `chmod 0600` leaves a window in which the file exists with the umask's
mode (usually 0644): any local user can open it then and keep the descriptor. So a private file
is created with mode 0600 by `open(O_CREAT | O_EXCL | O_NOFOLLOW)` under a fresh temporary name
in the same directory (O_EXCL: never a file or link someone put there first), written, flushed
to disk, and renamed over the final name, which is atomic: readers see the old content or the
new, never half a key; on a full filesystem the error is files.py's StateWriteError, which says
so, and the old file stays. Directories that hold such files are made 0700 (`private_dir`).
`write_private_key` writes a private key so, as PEM in OpenSSL's traditional format (what
kubeadm and the kubelet write).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from nodelab.host.files import FULL, state_write_error

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) a directory only its owner may enter."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_DIR)  # a directory from before this rule: tightened, never widened
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` as a new 0600 file (O_EXCL under a temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, PRIVATE_FILE)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data.encode() if isinstance(data, str) else data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
    except OSError as exc:
        if exc.errno in FULL:  # a full state filesystem: the clear error, the target untouched
            raise state_write_error(path, exc) from exc
        raise
    return path


def write_private_key(path: Path, key: PrivateKeyTypes) -> Path:
    """Write `key` (unencrypted PEM, OpenSSL's traditional format) as a private file."""
    return write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                                 serialization.NoEncryption()))
