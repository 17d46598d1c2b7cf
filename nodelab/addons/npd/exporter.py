"""Reporting to the API server (pkg/exporters/k8sexporter): events and the Node's conditions.

Events are core/v1 Events about the Node, in the `default` namespace (upstream's
`--event-namespace` is empty, and client-go records a cluster-scoped object's events there),
source component = the monitor's `source` (`kernel-monitor`, `readonly-monitor`), host = the
node; each goes through client-go's correlator first (`nodelab/kubewire/correlator.py`): a
repeat is a strategic merge patch of the Event. Conditions go through the condition manager
(`conditions.py`) as a strategic merge patch of `nodes/<node>/status`. The
service account needs what upstream's bootstrap role `system:node-problem-detector` grants:
get nodes, patch nodes/status, create/patch/update events.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nodelab.addons.incluster import InCluster, InClusterError
from nodelab.addons.npd.conditions import ConditionManager
from nodelab.addons.npd.monitor import Event, Status
from nodelab.kubewire.correlator import EventCorrelator
from nodelab.kubewire.events import event as core_event
from nodelab.kubewire.times import from_epoch

log = logging.getLogger(__name__)

STRATEGIC = "application/strategic-merge-patch+json"
NAMESPACE = "default"
RETRIES = 5  # client-go's retry.DefaultRetry: 5 steps 10 ms apart


def node_event(node: str, uid: str, source: str, event: Event, now: float) -> dict[str, Any]:
    """The core/v1 Event client-go's recorder makes for `event` about Node `node`."""
    involved = {"kind": "Node", "name": node, "apiVersion": "v1"}
    if uid:
        involved["uid"] = uid
    return core_event(involved, f"{node}.{int(now * 1e9):x}", event.reason, event.message,
                      component=source, stamp=from_epoch(now), event_type=event.type, host=node)


class Exporter:
    def __init__(self, client: InCluster, node: str, heartbeat_period: float) -> None:
        self.client = client
        self.node = node
        self.uid = ""
        self.correlator = EventCorrelator()
        self.conditions = ConditionManager(heartbeat_period)

    def read_node(self) -> None:
        """GET the Node (upstream waits for this before it starts): its uid names it in events."""
        node = self.client.get(f"/api/v1/nodes/{self.node}")
        self.uid = str((node.get("metadata") or {}).get("uid") or "")

    def export(self, status: Status) -> None:
        for event in status.events:
            self._record(status.source, event)
        for condition in status.conditions:
            self.conditions.update(condition)

    def _record(self, source: str, event: Event) -> None:
        now = time.time()
        decision = self.correlator.correlate(node_event(self.node, self.uid, source, event, now),
                                             now, from_epoch(now))
        obj = decision.event
        path = f"/api/v1/namespaces/{NAMESPACE}/events"
        if decision.action == "skip":
            log.info("event %s skipped by the spam filter (25 per source and object, "
                     "then one per 5 minutes): %s", event.reason, event.message)
            return
        try:
            answer: dict[str, Any] | None = None
            if decision.action == "patch":
                try:
                    answer = self.client.patch(f"{path}/{obj['metadata']['name']}",
                                               decision.patch, STRATEGIC)
                except InClusterError as exc:
                    if exc.code != 404:
                        raise
            if answer is None:
                created = {**obj, "metadata": {k: v for k, v in obj["metadata"].items()
                                               if k != "resourceVersion"}}
                answer = self.client.post(path, created)
            if isinstance(answer, dict):
                self.correlator.update_state(answer)
        except (OSError, InClusterError) as exc:  # best effort, as client-go's recorder
            log.warning("cannot record event %s: %s", event.reason, exc)

    def sync_conditions(self) -> None:
        """Patch the Node's conditions if they changed, a retry or a heartbeat is due."""
        if not self.conditions.due(time.monotonic()):
            return
        patch = self.conditions.patch(time.monotonic(), time.time())
        for attempt in range(RETRIES):
            try:
                self.client.patch(f"/api/v1/nodes/{self.node}/status", patch, STRATEGIC)
                return
            except (OSError, InClusterError) as exc:
                if attempt == RETRIES - 1:
                    log.warning("failed to update node conditions: %s", exc)
                time.sleep(0.01)
        self.conditions.failed()
