"""Whether a container whose monitor is gone has ended, so that its lost exit is recorded.

A monitor (conmon) killed with -9 while the runtime runs writes no exit file, yet the
container's process may live on: only runc's word that it ended counts, its status `stopped`
or its state gone (runc's "container does not exist"). Any other answer (`running`, `paused`,
`created`, or a `runc state` that failed for a moment under load) means wait and ask again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from nodelab.host.commands import CommandError
from nodelab.runtime.monitor import MonitorPaths, monitor_alive, record_lost_exit

log = logging.getLogger(__name__)

Runc = Callable[..., str]  # runs runc with these arguments, its stdout; CommandError if it fails

GONE = "gone"  # runc has no state for the container: it ended and was deleted
UNKNOWN = "unknown"  # `runc state` failed otherwise, or its output had no status
NOT_EXIST = "container does not exist"  # runc's error text (libcontainer ErrNotExist)


def status_of(stdout: str) -> str:
    """The `status` of `runc state`'s JSON output; UNKNOWN if it has none."""
    try:
        state = json.loads(stdout)
    except ValueError:
        return UNKNOWN
    status = state.get("status") if isinstance(state, dict) else None
    return status if isinstance(status, str) and status else UNKNOWN


def status_of_failure(stderr: str) -> str:
    """What a failed `runc state` says: GONE for runc's "container does not exist", else UNKNOWN."""
    return GONE if NOT_EXIST in stderr else UNKNOWN


def ended(status: str) -> bool:
    """Whether runc's status (or GONE/UNKNOWN) says the container's process has ended."""
    return status in ("stopped", GONE)


def runc_status(runc: Runc, container_id: str) -> str:
    """runc's status of the container (`running`, `stopped`, ...), GONE or UNKNOWN."""
    try:
        return status_of(runc("state", container_id))
    except CommandError as exc:
        return status_of_failure(exc.stderr)


def settle(runc: Runc, container_id: str, paths: MonitorPaths) -> bool:
    """Whether the container ended with its monitor gone (kill -9 of conmon while the runtime
    ran): then nobody writes its exit, so it is recorded here, 255 (unknown) as containerd
    reports a task whose shim is gone. False while its monitor runs or runc does not say it
    ended."""
    if monitor_alive(paths) or not ended(runc_status(runc, container_id)):
        return False
    # a monitor writes the exit before it ends: one that ended normally has written it
    if not paths.exit_file.exists():
        log.warning("container %s: stopped with its monitor gone (kill -9 of conmon); "
                    "it exited with 255 (unknown)", container_id[:12])
        record_lost_exit(paths)
    return True
