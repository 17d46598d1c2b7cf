"""When the detector writes its conditions to the Node (k8sexporter/condition/manager.go).

Every second the manager looks at what the monitors reported: a condition that changed makes
it patch the Node's status at once; a patch that failed is tried again after 10 s; and at
least every 5 minutes (`--k8s-exporter-heartbeat-period`) it patches anyway, so the conditions'
`lastHeartbeatTime` shows the detector is alive. Nothing else is sent: a node whose kernel is
quiet costs the API server one patch per 5 minutes.

The patch is upstream's: a strategic merge patch of `status.conditions` only, which the API
server merges by condition `type`, so the kubelet's own conditions (Ready, MemoryPressure...)
are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nodelab.addons.npd.monitor import Condition
from nodelab.kubewire.times import from_epoch

UPDATE_PERIOD = 1.0
RESYNC_PERIOD = 10.0
HEARTBEAT_PERIOD = 300.0


def api_condition(condition: Condition, heartbeat: float) -> dict[str, Any]:
    return {"type": condition.type, "status": condition.status,
            "lastHeartbeatTime": from_epoch(heartbeat),
            "lastTransitionTime": from_epoch(condition.transition),
            "reason": condition.reason, "message": condition.message}


@dataclass
class ConditionManager:
    heartbeat_period: float = HEARTBEAT_PERIOD
    updates: dict[str, Condition] = field(default_factory=dict)
    conditions: dict[str, Condition] = field(default_factory=dict)
    latest_try: float | None = None
    resync_needed: bool = False

    def update(self, condition: Condition) -> None:
        """The newest report of a condition type (kept until the next tick)."""
        self.updates[condition.type] = condition

    def due(self, now: float) -> bool:
        """Whether to patch now: a changed condition, a failed patch 10 s ago, a heartbeat."""
        changed = False
        for kind, condition in self.updates.items():
            if self.conditions.get(kind) != condition:
                self.conditions[kind] = condition
                changed = True
        self.updates.clear()
        since = None if self.latest_try is None else now - self.latest_try
        resync = self.resync_needed and since is not None and since >= RESYNC_PERIOD
        heartbeat = since is None or since >= self.heartbeat_period
        return bool(self.conditions) and (changed or resync or heartbeat)

    def patch(self, now: float, wall: float) -> dict[str, Any]:
        """The status patch to send now (`now` monotonic, `wall` the epoch time)."""
        self.latest_try = now
        self.resync_needed = False
        return {"status": {"conditions": [api_condition(c, wall)
                                          for c in self.conditions.values()]}}

    def failed(self) -> None:
        self.resync_needed = True
