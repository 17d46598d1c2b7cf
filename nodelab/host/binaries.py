"""Facts about executables on the host: where they are and whether they are static."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

PT_INTERP = 3


def which(name: str) -> Path | None:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")
    return Path(found) if found else None


def is_static_elf(path: Path) -> bool:
    """True for an ELF executable with no program interpreter (a static binary)."""
    try:
        with open(path, "rb") as f:
            header = f.read(64)
            if header[:4] != b"\x7fELF":
                return False
            is64 = header[4] == 2
            endian = "<" if header[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(endian + "Q", header, 0x20)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
            else:
                phoff, = struct.unpack_from(endian + "I", header, 0x1C)
                phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x2A)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except (OSError, struct.error):
        return False
    for i in range(phnum):
        p_type, = struct.unpack_from(endian + "I", table, i * phentsize)
        if p_type == PT_INTERP:
            return False
    return True
