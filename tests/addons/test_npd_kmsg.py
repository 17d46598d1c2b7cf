"""The detector's reader on this machine's /dev/kmsg (read only: nothing is written): records
come oldest first, one per read, then the reader says it has caught up."""

from __future__ import annotations

import pytest

from nodelab.addons.npd.kmsg import records
from tests.conftest import IS_ROOT

pytestmark = pytest.mark.privileged


@pytest.mark.skipif(not IS_ROOT, reason="reading /dev/kmsg needs CAP_SYSLOG where "
                    "dmesg_restrict is 1 (root)")
def test_reads_the_ring_in_order_then_catches_up() -> None:
    seen = []
    for record in records("/dev/kmsg"):
        if record is None:
            break
        seen.append(record)
    assert seen, "the kernel's ring holds no record"
    sequences = [r.sequence for r in seen]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(a.usec <= b.usec for a, b in zip(seen, seen[1:], strict=False))
    assert all("\n" not in r.message for r in seen)
