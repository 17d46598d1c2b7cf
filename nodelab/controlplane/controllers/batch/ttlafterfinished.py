"""The TTL-after-finished controller: a finished Job with `ttlSecondsAfterFinished` is deleted
(with its pods: Foreground propagation, precondition on its uid) that long after it finished,
as upstream's pkg/controller/ttlafterfinished does. A Job finished when it got its Complete
or Failed condition (`completionTime` for Complete)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from nodelab.controlplane.controllers.workloads.conditions import find_condition
from nodelab.kube.restclient import RestError
from nodelab.kube.store import Store
from nodelab.kube.writer import Writer
from nodelab.kubewire.times import parse_time


def expiry(job: Mapping[str, Any]) -> dt.datetime | None:
    """When a finished Job with a TTL is due for deletion (None: never, or not yet finished)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    status = job.get("status") or {}
    if ttl is None:
        return None
    for kind in ("Complete", "Failed"):
        condition = find_condition(status, kind)
        if condition is not None and condition.get("status") == "True":
            finished = parse_time(status.get("completionTime") if kind == "Complete" else None) \
                or parse_time(condition.get("lastTransitionTime"))
            if finished is not None:
                return finished + dt.timedelta(seconds=int(ttl))
    return None


class TTLAfterFinishedController:
    name = "ttl-after-finished"
    kinds: tuple[str, ...] = ("jobs",)
    periodic = True

    def sync(self, store: Store, writer: Writer) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        for job in store.list("jobs"):
            metadata = job["metadata"]
            due = expiry(job)
            if due is None or due > now or metadata.get("deletionTimestamp"):
                continue
            try:
                writer.delete("jobs", metadata["namespace"], metadata["name"],
                              {"propagationPolicy": "Foreground",
                               "preconditions": {"uid": metadata.get("uid")}})
            except RestError as exc:
                if exc.status != 409:
                    raise
