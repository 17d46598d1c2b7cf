"""Container log rotation, as upstream's ContainerLogManager (pkg/kubelet/logs).

The runtime writes each container's log to `ContainerStatus.log_path` and never rotates it; the
kubelet does, every `containerLogMonitorInterval` (10 s):

- a running container's log larger than `containerLogMaxSize` (10Mi) is renamed to
  `<log>.<UTC YYYYMMDD-hhmmss>` and the runtime is asked to reopen it (`ReopenContainerLog`), so
  the container keeps writing to a fresh `<log>`;
- rotated files are gzip-compressed (`.gz`), except the newest, which a reader may still be
  following;
- at most `containerLogMaxFiles` (5) files are kept, the live log included: the oldest rotated
  ones go first.

`plan_rotation` is the decision (pure, table-tested); `rotate_container_logs` carries it out.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("nodelab.kubelet")

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 5
TIMESTAMP = "%Y%m%d-%H%M%S"


@dataclass(frozen=True)
class RotationPlan:
    rotate_to: str | None = None  # the name the live log is renamed to, None: no rotation
    compress: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def plan_rotation(log_name: str, size: int, rotated: Sequence[str], now: dt.datetime,
                  max_size: int = DEFAULT_MAX_SIZE, max_files: int = DEFAULT_MAX_FILES
                  ) -> RotationPlan:
    """What to do with a log of `size` bytes and its `rotated` siblings (names, any order)."""
    ordered = sorted(rotated, key=lambda name: name.removesuffix(".gz"))  # oldest first
    new = None
    if size > max_size:
        new = f"{log_name}.{now.astimezone(dt.timezone.utc).strftime(TIMESTAMP)}"
        while new in ordered or f"{new}.gz" in ordered:
            new += "0"  # two rotations within a second
        ordered.append(new)
    keep = max(max_files - 1, 0)  # the live log counts as one file
    removed = ordered[:len(ordered) - keep] if len(ordered) > keep else []
    kept = ordered[len(removed):]
    compress = tuple(name for name in kept[:-1] if not name.endswith(".gz"))
    return RotationPlan(new, compress, tuple(name for name in removed if name != new))


def rotated_siblings(path: Path) -> list[str]:
    prefix = path.name + "."
    try:
        return [name for name in os.listdir(path.parent)
                if name.startswith(prefix) and name[len(prefix):][:8].isdigit()
                and not name.endswith(".tmp")]
    except FileNotFoundError:
        return []


def _compress(path: Path) -> None:
    tmp = path.with_name(path.name + ".gz.tmp")
    with path.open("rb") as source, gzip.open(tmp, "wb") as target:
        shutil.copyfileobj(source, target)
    os.replace(tmp, path.with_name(path.name + ".gz"))
    path.unlink()


def rotate_container_logs(cri: Any, max_size: int, max_files: int,
                          now: dt.datetime | None = None) -> int:
    """One pass over the running containers' logs; returns how many were rotated."""
    rotated = 0
    for container in cri.list_containers():
        if container.state != 1:  # CONTAINER_RUNNING: others are not written to any more
            continue
        try:
            log_path = cri.container_status(container.id).log_path
        except Exception as exc:  # noqa: BLE001 - a container gone meanwhile
            log.debug("log rotation: no status for %s: %s", container.id[:12], exc)
            continue
        if not log_path:
            continue
        path = Path(log_path)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        plan = plan_rotation(path.name, size, rotated_siblings(path),
                             now or dt.datetime.now(dt.timezone.utc), max_size, max_files)
        try:
            if plan.rotate_to is not None:
                os.rename(path, path.with_name(plan.rotate_to))
                cri.reopen_container_log(container.id)
                rotated += 1
            for name in plan.compress:
                _compress(path.with_name(name))
            for name in plan.remove:
                path.with_name(name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("log rotation of %s failed (retried next period): %s", path, exc)
    return rotated
