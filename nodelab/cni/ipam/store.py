"""host-local's reservation store: one file per address, exactly the reference layout.

    <dataDir>/<network>/10.244.1.7          "<containerID>\r\n<ifname>"
    <dataDir>/<network>/last_reserved_ip.0  "10.244.1.7"   (per range set, for round-robin)
    <dataDir>/<network>/lock                flock(2) held for the whole plugin call

Creating the address file with O_EXCL is the reservation itself, so two plugins can never hand
out the same address; the lock makes "find a free address, then reserve it" atomic and keeps
last_reserved_ip consistent. Because the layout is upstream's, nodelab's and the reference
host-local can share a data dir, and a learner can `ls` the allocations.

The network's directory is opened once, beneath the configured `dataDir`, without following a
link (`nodelab/host/beneath.py`); every file in it is then opened, created, renamed or removed
relative to that directory's fd, with `O_NOFOLLOW` and one path component each. A name that
would leave the directory (`/`, `..`) is refused, and a symlink planted in the store (as the
network's directory, an address, the lock or `last_reserved_ip.N`) is never written through:
`last_reserved_ip.N` is replaced by a rename, a planted link makes the open fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from nodelab.cni.errors import IO_FAILURE, CNIError
from nodelab.cni.identifiers import check_network_name
from nodelab.host.beneath import PathEscape, open_dir

DEFAULT_DATA_DIR = Path("/var/lib/cni/networks")
LINE_BREAK = "\r\n"
LAST_RESERVED = "last_reserved_ip."


def _one_name(name: str) -> str:
    """`name` as a single component of the store's directory (never `/`, `..` or empty)."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise CNIError(IO_FAILURE, f"host-local: {name!r} is not a file name in the store")
    return name


class Store:
    """The reservations of one network; use as a context manager to hold the lock."""

    def __init__(self, data_dir: Path, network: str) -> None:
        self.data_dir = Path(data_dir)
        self.network = network
        self.directory = self.data_dir / network
        self._dir_fd: int | None = None
        self._lock_fd: int | None = None

    @property
    def _fd(self) -> int:
        if self._dir_fd is None:
            raise CNIError(IO_FAILURE, f"host-local: the store {self.directory} is not open")
        return self._dir_fd

    def __enter__(self) -> Store:
        check_network_name(self.network)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
            root = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                self._dir_fd = open_dir(root, [self.network], create=True, mode=0o755,
                                        what=f"host-local data dir {self.directory}")
            finally:
                os.close(root)
            self._lock_fd = os.open("lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                                    0o600, dir_fd=self._dir_fd)
        except (OSError, PathEscape) as exc:
            self._close()
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise CNIError(
                IO_FAILURE, f"host-local: cannot use data dir {self.directory}: {why}"
            ) from exc
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        for fd in (self._lock_fd, self._dir_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._dir_fd = None

    def reserve(self, container_id: str, ifname: str, address: str, range_set: int) -> bool:
        """Reserve `address`; False if it is taken already."""
        try:
            fd = os.open(_one_name(address),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o644, dir_fd=self._fd)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(container_id.strip() + LINE_BREAK + ifname)
        self._replace(f"{LAST_RESERVED}{range_set}", address)
        return True

    def _replace(self, name: str, text: str) -> None:
        """Write `name` as a new file and rename it over the old one (a link is replaced, not
        followed)."""
        tmp = f".{name}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644, dir_fd=self._fd)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(tmp, _one_name(name), src_dir_fd=self._fd, dst_dir_fd=self._fd)

    def _read(self, name: str) -> str | None:
        """A regular file's text (at most 4 KiB), None for anything else or nothing."""
        try:
            fd = os.open(_one_name(name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_CLOEXEC, dir_fd=self._fd)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return os.read(fd, 4096).decode(errors="replace")
        finally:
            os.close(fd)

    def last_reserved(self, range_set: int) -> str | None:
        text = self._read(f"{LAST_RESERVED}{range_set}")
        return text.strip() or None if text is not None else None

    def reservations(self) -> Iterator[tuple[str, str, str]]:
        """Every (address, container id, ifname) held in the store."""
        for name in sorted(os.listdir(self._fd)):
            try:
                ipaddress.ip_address(name)
            except ValueError:
                continue
            text = self._read(name)
            if text is None:
                continue
            cid, _, ifname = text.strip().partition(LINE_BREAK)
            yield name, cid.strip(), ifname.strip()

    def owned_by(self, container_id: str, ifname: str) -> list[str]:
        return [
            a for a, cid, ifn in self.reservations() if cid == container_id and ifn in (ifname, "")
        ]

    def release(self, address: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_one_name(address), dir_fd=self._fd)
