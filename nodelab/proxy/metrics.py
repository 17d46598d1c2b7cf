"""Sync metrics: what the views and the benchmarks read about the proxy's last syncs.

Upstream kube-proxy exports Prometheus histograms (`sync_proxy_rules_duration_seconds`, its
full and partial variants, `sync_proxy_rules_iptables_total`, `..._last_timestamp_seconds`).
nodelab keeps the same facts as plain dataclasses: one `SyncRecord` per sync, and
`ProxyMetrics` with the last sync, the last full and the last partial one. The proxy process
writes `ProxyMetrics.to_dict()` as JSON after every sync, so a widget or a benchmark in another
process can read it without talking to the proxy.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SyncRecord:
    """One sync: how long it took, split into render and apply, and how big it was."""

    mode: str
    full: bool
    ok: bool
    finished_at: float
    duration_seconds: float
    render_seconds: float
    apply_seconds: float
    services: int
    endpoints: int
    rules_total: int
    rules_written: int
    services_written: int
    chains_deleted: int
    payload_bytes: int
    error: str = ""
    reason: str = ""


@dataclass
class ProxyMetrics:
    """The proxy's metrics so far (counts, and the last full/partial sync records)."""

    mode: str = ""
    syncs: int = 0
    failures: int = 0
    last: SyncRecord | None = None
    last_full: SyncRecord | None = None
    last_partial: SyncRecord | None = None
    history: list[SyncRecord] = field(default_factory=list)
    history_size: int = 100

    def record(self, rec: SyncRecord) -> None:
        self.mode = rec.mode
        self.syncs += 1
        if not rec.ok:
            self.failures += 1
        self.last = rec
        if rec.ok and rec.full:
            self.last_full = rec
        elif rec.ok:
            self.last_partial = rec
        self.history.append(rec)
        del self.history[: -self.history_size]

    def to_dict(self) -> dict[str, Any]:
        def rec(r: SyncRecord | None) -> dict[str, Any] | None:
            return asdict(r) if r else None

        return {
            "mode": self.mode,
            "syncs": self.syncs,
            "failures": self.failures,
            "last": rec(self.last),
            "last_full": rec(self.last_full),
            "last_partial": rec(self.last_partial),
        }

    def write(self, path: Path) -> None:
        """Write `to_dict()` as JSON, atomically (readers never see half a file)."""
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)  # e.g. half written on a full filesystem
            raise


def read_metrics(path: Path) -> dict[str, Any]:
    """The JSON a proxy process wrote with `ProxyMetrics.write` (for views and benchmarks)."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data
