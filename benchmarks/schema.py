"""The common result shape every benchmark writes, and the run record the runner adds around it.

A benchmark script writes `{"benchmark": str, "params": {...}, "results": [ {...}, ... ]}`:
flat rows, one per measured case, in whatever keys suit the benchmark (seconds as `*_s`,
milliseconds as `*_ms`, KiB as `*_kib`). The runner wraps that in a `BenchmarkRun` that also
says how the run ended: `ok`, `failed` (non-zero exit or no results file), `over-budget`
(stopped at its time budget; rows written before that are kept) or `not-run` (with why).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUSES = ("ok", "failed", "over-budget", "not-run")

Row = dict[str, Any]


@dataclass
class BenchmarkRun:
    name: str
    area: str
    status: str
    budget_s: float
    seconds: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    results: list[Row] = field(default_factory=list)
    reason: str = ""
    command: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(STATUSES)}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchmarkRun:
        return cls(**data)


def write_results(path: Path, benchmark: str, params: dict[str, Any], rows: list[Row]) -> None:
    """What every benchmark script calls (also after each case, so a stopped run keeps rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"benchmark": benchmark, "params": params, "results": rows},
                              indent=2) + "\n")
    tmp.replace(path)


def read_results(path: Path) -> tuple[dict[str, Any], list[Row]]:
    data = json.loads(path.read_text())
    return dict(data.get("params", {})), list(data.get("results", []))


def default_out(name: str) -> Path:
    """Where a script run alone writes: benchmarks/results/<name>-<timestamp>.json."""
    import time

    root = Path(__file__).resolve().parent / "results"
    return root / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
