"""client-go's event correlator (nodelab/kubewire/correlator.py) as a table: a sequence of
events about an object, and what the recorder sends for each (create, patch with the count,
or skip), as tools/record/events_cache.go decides."""

from __future__ import annotations

from typing import Any

import pytest

from nodelab.kubewire.correlator import COMBINED, EventCorrelator
from nodelab.kubewire.events import event

pytestmark = pytest.mark.unit

POD = {"kind": "Pod", "namespace": "default", "name": "web", "uid": "u1", "apiVersion": "v1"}


def _event(reason: str = "BackOff", message: str = "Back-off restarting failed container",
           kind: str = "Warning", field_path: str = "", at: float = 0.0,
           name: str = "") -> dict[str, Any]:
    involved = {**POD, **({"fieldPath": field_path} if field_path else {})}
    return event(involved, name or f"web.{int(at * 1e9):x}", reason, message,
                 component="kubelet", host="node1", stamp=f"t{at:g}", event_type=kind)


Step = tuple[float, dict[str, Any]]  # (seconds, _event's arguments)


def _run(steps: list[Step]) -> list[tuple[str, int]]:
    correlator = EventCorrelator()
    seen: list[tuple[str, int]] = []
    for at, fields in steps:
        decision = correlator.correlate(_event(at=at, **fields), at, f"t{at:g}")
        seen.append((decision.action, int(decision.event["count"])))
    return seen


@pytest.mark.parametrize("steps, expected", [
    pytest.param([(0, {}), (10, {}), (20, {})],
                 [("create", 1), ("patch", 2), ("patch", 3)], id="a repeat is counted"),
    pytest.param([(0, {}), (10, {"field_path": "spec.containers{app}"})],
                 [("create", 1), ("create", 1)], id="another field path is another event"),
    pytest.param([(0, {}), (10, {"kind": "Normal"})],
                 [("create", 1), ("create", 1)], id="another type is another event"),
    pytest.param([(float(i), {"message": f"m{i}"}) for i in range(12)],
                 [("create", 1)] * 10 + [("patch", 2), ("patch", 3)],
                 id="ten similar messages: the tenth is combined, later ones counted on it"),
    pytest.param([(float(i), {"message": f"m{i}"}) for i in range(9)] + [(700.0, {"message": "x"})],
                 [("create", 1)] * 10, id="similar events older than ten minutes start afresh"),
    pytest.param([(0.0, {"reason": f"R{i}"}) for i in range(27)],
                 [("create", 1)] * 25 + [("skip", 1)] * 2,
                 id="25 events about an object, then the spam filter"),
    pytest.param([(0.0, {"reason": f"R{i}"}) for i in range(25)] + [(0.0, {"kind": "Normal"})],
                 [("create", 1)] * 26, id="the spam bucket is per type too"),
    pytest.param([(0.0, {"reason": f"R{i}"}) for i in range(25)]
                 + [(1.0, {"reason": "R0"}), (301.0, {"reason": "R0"})],
                 [("create", 1)] * 25 + [("skip", 2), ("patch", 3)],
                 id="a skipped repeat is still counted; a token every 5 minutes"),
])
def test_what_the_recorder_sends(steps: list[Step], expected: list[tuple[str, int]]) -> None:
    assert _run(steps) == expected


def test_a_repeat_patches_the_first_events_count_time_and_message() -> None:
    correlator = EventCorrelator()
    first = correlator.correlate(_event(at=0.0), 0.0, "t0")
    again = correlator.correlate(_event(at=60.0), 60.0, "t60")
    assert first.event["metadata"]["name"] == "web.0"
    assert again.event["metadata"]["name"] == "web.0"  # not the repeat's own name
    assert (again.event["firstTimestamp"], again.event["lastTimestamp"]) == ("t0", "t60")
    assert again.patch == {"count": 2, "lastTimestamp": "t60",
                           "message": "Back-off restarting failed container"}


def test_the_servers_answer_names_the_event_later_patches_build_on() -> None:
    correlator = EventCorrelator()
    sent = correlator.correlate(_event(at=0.0), 0.0, "t0").event
    correlator.update_state({**sent, "metadata": {**sent["metadata"], "name": "stored",
                                                  "resourceVersion": "42"}, "count": 7})
    again = correlator.correlate(_event(at=5.0), 5.0, "t5")
    assert (again.event["metadata"]["name"], again.event["metadata"]["resourceVersion"],
            again.patch["count"]) == ("stored", "42", 8)


def test_the_combined_event_is_upstreams_copy() -> None:
    correlator = EventCorrelator()
    for i in range(9):
        correlator.correlate(_event(message=f"m{i}", at=float(i)), float(i), f"t{i}")
    combined = correlator.correlate(_event(message="m9", at=9.5), 9.5, "t9.5").event
    assert combined["message"] == COMBINED + "m9"
    assert combined["metadata"] == {"name": f"web.{int(9.5e9):x}", "namespace": "default"}
    assert (combined["count"], combined["firstTimestamp"], combined["reason"],
            combined["source"]) == (1, "t9.5", "BackOff", {"component": "kubelet",
                                                           "host": "node1"})
    assert "reportingComponent" not in combined  # EventAggregate copies no reporting fields
    later = correlator.correlate(_event(message="m10", at=11.0), 11.0, "t11")
    assert later.patch == {"count": 2, "lastTimestamp": "t11", "message": COMBINED + "m10"}
    assert later.event["metadata"]["name"] == combined["metadata"]["name"]
