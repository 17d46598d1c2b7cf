"""What every step of `up` works with: the lab's names, paths, topology, ledger and daemons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nodelab.lab.daemons import Supervisor
from nodelab.lab.description import LabDescription
from nodelab.lab.ledger import Ledger
from nodelab.lab.names import LabNames
from nodelab.lab.paths import LabPaths
from nodelab.lab.topology import Topology

Progress = Callable[[str], None]


@dataclass
class LabContext:
    names: LabNames
    paths: LabPaths
    description: LabDescription
    ledger: Ledger
    supervisor: Supervisor
    progress: Progress

    @classmethod
    def of(cls, names: LabNames, paths: LabPaths, description: LabDescription,
           progress: Progress) -> LabContext:
        """The context of one `up` or `join`: the lab's ledger and a supervisor writing to it."""
        ledger = Ledger(paths.ledger)
        return cls(names, paths, description, ledger,
                   Supervisor(description.name, paths, ledger), progress)

    @property
    def topology(self) -> Topology:
        return self.description.topology
