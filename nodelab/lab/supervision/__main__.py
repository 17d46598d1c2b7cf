"""`python -m nodelab.lab.supervision --lab L --state-dir D`: the lab supervisor (supervisor.py).

Runs until SIGTERM, which ends supervision and leaves the daemons running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nodelab.host.daemon import setup_logging
from nodelab.lab.paths import LabPaths
from nodelab.lab.supervision.supervisor import LabSupervisor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodelab.lab.supervision",
                                     description="restart the lab's daemons when they exit")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--state-dir", type=Path, required=True, help="the lab's state dir")
    args = parser.parse_args(argv)
    setup_logging("supervisor")
    return LabSupervisor(args.lab, LabPaths(args.state_dir)).run()


if __name__ == "__main__":
    sys.exit(main())
