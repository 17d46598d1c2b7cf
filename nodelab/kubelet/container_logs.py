"""Container logs: reading the CRI log format the way `kubectl logs` expects.

A runtime writes each container's output to `ContainerStatus.log_path`, one record a line:

    2026-11-27T21:14:00.123456789Z stdout F hello world
    <RFC 3339 nano timestamp>     <stream> <F full | P partial> <text>

A `P` record is part of a line that the next record continues (a long line split by the
runtime, or a last line the container ended without a newline); it is shown without a
newline, so the output has every byte the container wrote. `parse_record` reads one record;
`render` applies the query of `/containerLogs` (and so of `kubectl logs`), per record as
upstream's `ReadLogs` does: `timestamps` prefixes each record with its time,
`sinceSeconds`/`sinceTime` drop older records, `tailLines` keeps the last N records,
`limitBytes` cuts the output.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path

from nodelab.errors import NodelabError


@dataclass(frozen=True)
class LogRecord:
    time: str
    stream: str
    partial: bool
    text: str

    @property
    def at(self) -> datetime.datetime:
        return parse_time(self.time)


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_time(text: str) -> datetime.datetime:
    """RFC 3339 with up to nanoseconds (Python keeps microseconds), `Z` or an offset."""
    match = _TIME.match(text.strip())
    if not match:
        raise NodelabError(f"invalid time {text!r}: expected RFC 3339, e.g. "
                           "2026-01-01T00:00:00Z")
    head, frac, zone = match.groups()
    stamp = datetime.datetime.fromisoformat(head + ("+00:00" if zone == "Z" else zone))
    micro = int((frac + "000000")[:6]) if frac else 0
    return stamp.replace(microsecond=micro).astimezone(datetime.timezone.utc)


def parse_record(line: str) -> LogRecord | None:
    line = line.rstrip("\n")
    parts = line.split(" ", 3)
    if len(parts) < 3 or parts[1] not in ("stdout", "stderr"):
        return None
    text = parts[3] if len(parts) == 4 else ""
    return LogRecord(parts[0], parts[1], parts[2] == "P", text)


def format_record(record: LogRecord, timestamps: bool) -> str:
    """One record as `kubectl logs` shows it: a `P` record without a newline (the next record
    continues its line), so every byte the container wrote is shown, a last line without a
    newline included (upstream's `ReadLogs`: timestamps, when asked, prefix every record)."""
    end = "" if record.partial else "\n"
    return f"{record.time} {record.text}{end}" if timestamps else f"{record.text}{end}"


def render(
    text: str,
    *,
    timestamps: bool = False,
    tail_lines: int | None = None,
    since: datetime.datetime | None = None,
    limit_bytes: int | None = None,
) -> str:
    lines = [r for r in (parse_record(line) for line in text.splitlines()) if r is not None]
    if since is not None:
        lines = [r for r in lines if r.at >= since]
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    out = "".join(format_record(r, timestamps) for r in lines)
    if limit_bytes is not None:
        out = out.encode()[:limit_bytes].decode(errors="ignore")
    return out


def read_tail(path: Path, records: int, block: int = 64 * 1024) -> tuple[str, int]:
    """The last `records` lines of a log file, read backwards from its end, and its size.

    `kubectl logs --tail=N` of a large log reads a few blocks, not the whole file.
    """
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        data, position = b"", size
        while position > 0 and data.count(b"\n") <= records:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.splitlines(keepends=True)
    chosen = lines[-records:] if records > 0 else []
    return b"".join(chosen).decode(errors="replace"), size
