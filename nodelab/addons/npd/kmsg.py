"""The kernel log as /dev/kmsg hands it out, one record per read (go-kmsg-parser's rules).

A record is `PRIORITY,SEQUENCE,TIMESTAMP_USEC,FLAGS[,...];MESSAGE` followed by optional
dictionary lines (` KEY=value`), which are metadata, not message; the timestamp counts
microseconds since boot (printk's clock, which CLOCK_MONOTONIC follows). A reader opening
/dev/kmsg starts at the oldest record the ring still holds, so the watcher drops every record
older than its start time, as upstream's kmsg watcher does (`GetStartTime`): the later of boot +
`delay` and now - `lookback`. Upstream's `kernel-monitor.json` looks back 5 minutes; a lab's
detector looks back 0 s (every node of every lab on the machine shares one kernel log: a
5-minute lookback would report, on a new lab's nodes, what happened on other labs' nodes before).

`records` is the reader: a read per record, a poll when there is none; EPIPE (the reader fell
behind and the kernel overwrote records) skips to the oldest record still there, as
go-kmsg-parser does. It says once when it has caught up with the kernel, so the program can
log when everything before its start has been read (and skipped).
"""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Iterator
from dataclasses import dataclass

READ_SIZE = 8192  # a record is at most 1 KiB of text plus its dictionary (PRINTK_MESSAGE_MAX)


@dataclass(frozen=True)
class Record:
    priority: int
    sequence: int
    usec: int  # since boot
    message: str


def parse_record(data: bytes) -> Record | None:
    """One /dev/kmsg record, or None if it is not one (kmsgparser's parseMessage)."""
    text = data.decode("utf-8", errors="replace")
    head, sep, rest = text.partition(";")
    fields = head.split(",")
    if not sep or len(fields) < 3:
        return None
    try:
        priority, sequence, usec = int(fields[0]), int(fields[1]), int(fields[2])
    except ValueError:
        return None
    message = rest.split("\n", 1)[0]  # the lines after it are ` KEY=value` metadata
    return Record(priority, sequence, usec, message.strip())


def start_usec(uptime: float, lookback: float, delay: float) -> int:
    """The earliest record time (microseconds since boot) the watcher reports: the later of
    boot + `delay` and now - `lookback` (upstream's util.GetStartTime)."""
    return int(max(delay, uptime - lookback) * 1_000_000)


def records(path: str) -> Iterator[Record | None]:
    """Every record of the kernel log at `path`, oldest first, waiting for new ones; None once,
    when the reader has caught up with the kernel (every record logged before is read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    caught_up = False
    try:
        while True:
            try:
                data = os.read(fd, READ_SIZE)
            except BlockingIOError:  # nothing new: say so the first time, then wait
                if not caught_up:
                    caught_up = True
                    yield None
                poller.poll()
                continue
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # overwritten before we read it: go on
                    continue
                raise
            if not data:
                return
            record = parse_record(data)
            if record is not None:
                yield record
    finally:
        os.close(fd)
