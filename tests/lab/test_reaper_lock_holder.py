"""Who holds the reaper lock, as /proc/locks lists it (nodelab/lab/claims.py `lock_holder`):
the holder's line, never a waiter's (`->`) or a lock on another file."""

from __future__ import annotations

import pytest

from nodelab.lab.claims import lock_holder

pytestmark = pytest.mark.unit

LOCK = "fe:00:2162752"


@pytest.mark.parametrize("proc_locks, holder", [
    ("3: FLOCK  ADVISORY  WRITE 17416 fe:00:2162752 0 EOF\n", 17416),
    # a waiter listed first, then the holder
    ("3: -> FLOCK  ADVISORY  WRITE 900 fe:00:2162752 0 EOF\n"
     "3: FLOCK  ADVISORY  WRITE 17416 fe:00:2162752 0 EOF\n", 17416),
    # the same inode on another device, a POSIX lock on the file, a longer inode: not it
    ("1: FLOCK  ADVISORY  WRITE 5 fe:01:2162752 0 EOF\n"
     "2: POSIX  ADVISORY  WRITE 6 fe:00:2162752 0 EOF\n"
     "4: FLOCK  ADVISORY  WRITE 7 fe:00:12162752 0 EOF\n", None),
    # only waiters: the holder just let it go
    ("3: -> FLOCK  ADVISORY  WRITE 900 fe:00:2162752 0 EOF\n", None),
    ("", None),
])
def test_lock_holder(proc_locks: str, holder: int | None) -> None:
    assert lock_holder(LOCK, proc_locks) == holder
