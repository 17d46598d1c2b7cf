"""host-local's reservation store: one file per address, exactly the reference layout.

    <dataDir>/<network>/10.244.1.7          "<containerID>\r\n<ifname>"
    <dataDir>/<network>/last_reserved_ip.0  "10.244.1.7"   (per range set, for round-robin)
    <dataDir>/<network>/lock                flock(2) held for the whole plugin call

Creating the address file with O_EXCL is the reservation itself, so two plugins can never hand
out the same address; the lock makes "find a free address, then reserve it" atomic and keeps
last_reserved_ip consistent. Because the layout is upstream's, nodelab's and the reference
host-local can share a data dir, and a learner can `ls` the allocations.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from nodelab.cni.errors import IO_FAILURE, CNIError

DEFAULT_DATA_DIR = Path("/var/lib/cni/networks")
LINE_BREAK = "\r\n"
LAST_RESERVED = "last_reserved_ip."


class Store:
    """The reservations of one network; use as a context manager to hold the lock."""

    def __init__(self, data_dir: Path, network: str) -> None:
        self.directory = Path(data_dir) / network
        self._lock_fd: int | None = None

    def __enter__(self) -> Store:
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o755)
            self._lock_fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CNIError(
                IO_FAILURE, f"host-local: cannot use data dir {self.directory}: {exc.strerror}"
            ) from exc
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def reserve(self, container_id: str, ifname: str, address: str, range_set: int) -> bool:
        """Reserve `address`; False if it is taken already."""
        path = self.directory / address
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(container_id.strip() + LINE_BREAK + ifname)
        (self.directory / f"{LAST_RESERVED}{range_set}").write_text(address)
        return True

    def last_reserved(self, range_set: int) -> str | None:
        try:
            return (self.directory / f"{LAST_RESERVED}{range_set}").read_text().strip() or None
        except OSError:
            return None

    def reservations(self) -> Iterator[tuple[str, str, str]]:
        """Every (address, container id, ifname) held in the store."""
        for path in sorted(self.directory.iterdir()):
            try:
                ipaddress.ip_address(path.name)
                text = path.read_bytes().decode(errors="replace")
            except (ValueError, OSError):
                continue
            cid, _, ifname = text.strip().partition(LINE_BREAK)
            yield path.name, cid.strip(), ifname.strip()

    def owned_by(self, container_id: str, ifname: str) -> list[str]:
        return [
            a for a, cid, ifn in self.reservations() if cid == container_id and ifn in (ifname, "")
        ]

    def release(self, address: str) -> None:
        (self.directory / address).unlink(missing_ok=True)
