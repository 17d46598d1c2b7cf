"""The vocabulary the add-ons share with the agents (nodelab/kubewire): a `metav1.Time` as
text and the core/v1 Event client-go's recorder makes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nodelab.kubewire.events import event
from nodelab.kubewire.times import format_time, from_epoch

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "1970-01-01T00:00:00Z"),
    (1_700_000_000.5, "2023-11-14T22:13:20Z"),  # to the second
    (1_700_000_000.999, "2023-11-14T22:13:20Z"),
])
def test_a_time_is_rfc3339_utc_to_the_second(seconds: float, text: str) -> None:
    assert from_epoch(seconds) == text


def test_a_time_is_written_in_utc_whatever_the_zone() -> None:
    when = dt.datetime(2026, 1, 2, 5, 4, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_time(when) == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize(("involved", "host", "namespace", "source", "instance"), [
    ({"kind": "Pod", "name": "p", "namespace": "ns1"}, "node1", "ns1",
     {"component": "kubelet", "host": "node1"}, "node1"),
    ({"kind": "Node", "name": "node1"}, "node1", "default",
     {"component": "kubelet", "host": "node1"}, "node1"),
    ({"kind": "Service", "name": "s", "namespace": "ns2"}, None, "ns2",
     {"component": "kubelet"}, "kubelet"),
])
def test_an_event_is_one_occurrence_in_its_objects_namespace(
    involved: dict[str, Any], host: str | None, namespace: str, source: dict[str, str],
    instance: str,
) -> None:
    obj = event(involved, "x.1", "Started", "Started container c", component="kubelet",
                stamp="2026-01-02T03:04:05Z", host=host)
    assert obj["metadata"] == {"name": "x.1", "namespace": namespace}
    assert obj["involvedObject"] == involved
    assert (obj["source"], obj["reportingComponent"], obj["reportingInstance"]) == (
        source, "kubelet", instance)
    assert (obj["type"], obj["count"], obj["firstTimestamp"], obj["lastTimestamp"]) == (
        "Normal", 1, "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z")
