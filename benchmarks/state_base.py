"""A benchmark's own state base for the labs it brings up, claimed (nodelab/lab/claims.py) as a
test session claims its own: while the benchmark runs, a test session's residue check counts
its labs as another live owner's, not as residue; if the benchmark is killed, the next test
session (or `nodelab down --all`) reaps them.

The claim is released only once the base is gone (every lab down, the directory removed). A
base left with something in it (a lab whose `down` failed) keeps its claim, so it is reaped
when this process has ended instead of staying for good.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nodelab.lab.claims import claim, release


@contextmanager
def claimed_base(prefix: str = "nodelab-bench-") -> Iterator[Path]:
    """A new state base under /tmp (0755: the labs' daemons run as other users too), claimed
    as `labs` while the block runs; removed and released after it if it is empty."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(base, 0o755)
    held = claim("labs", base)
    try:
        yield base
    finally:
        try:
            base.rmdir()
        except OSError as exc:
            print(f"state base {base} kept ({exc.strerror}); its claim stays, so it is "
                  "reaped once this process has ended (next test session or "
                  "`nodelab down --all`)", file=sys.stderr)
        if not base.exists():
            release(held)
