"""Unit tests of the metrics server's pure parts: decoding `/metrics/resource`, the two-point
storage and the usage between points (upstream's cases), quantities and durations as Go
prints them, selectors, and the metrics.k8s.io documents."""

from __future__ import annotations

import pytest

from nodelab.addons.metrics import api, quantity
from nodelab.addons.metrics.decode import Batch, DecodeError, Point, decode, parse_line
from nodelab.addons.metrics.scraper import kubelet_target
from nodelab.addons.metrics.selectors import SelectorError, field_matcher, label_matcher
from nodelab.addons.metrics.storage import Storage, Usage, UsageError, usage

pytestmark = pytest.mark.unit

S = 10**9
T0 = 1_700_000_000 * S

KUBELET_TEXT = """\
# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 1.5 1700000000000
container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} 0.25 1700000000000
container_cpu_usage_seconds_total{container="x",namespace="default",pod="nomem"} 1 1700000000000
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 2048 1700000000000
container_memory_working_set_bytes{container="side",namespace="default",pod="web"} 2.5e+06 1700000000000
# TYPE container_start_time_seconds gauge
container_start_time_seconds{container="app",namespace="default",pod="web"} 1.69999994e+09
node_cpu_usage_seconds_total 100 1700000000000
node_memory_working_set_bytes 3.221225472e+09 1700000000000
pod_cpu_usage_seconds_total{namespace="default",pod="web"} 1.75 1700000000000
resource_scrape_error 0
"""  # noqa: E501


def test_decode_reads_what_the_kubelet_writes() -> None:
    batch = decode(KUBELET_TEXT, T0 + 5 * S, "node1")
    assert batch.nodes == {"node1": Point(0, T0, 100 * S, 3221225472)}
    assert set(batch.pods) == {("default", "web")}  # nomem: a container without memory
    web = batch.pods[("default", "web")]
    assert web["app"] == Point(1_699_999_940 * S, T0, 3 * S // 2, 2048)
    assert web["side"] == Point(0, T0, S // 4, 2_500_000)


def test_decode_drops_an_incomplete_node_and_uses_the_scrape_time() -> None:
    batch = decode("node_cpu_usage_seconds_total 5\n", T0, "node1")
    assert batch.nodes == {}
    batch = decode("node_cpu_usage_seconds_total 5\nnode_memory_working_set_bytes 10\n", T0, "n")
    assert batch.nodes == {"n": Point(0, T0, 5 * S, 10)}


@pytest.mark.parametrize(("line", "expected"), [
    ('a{x="1",y="b\\"c"} 2 3', ("a", {"x": "1", "y": 'b"c'}, 2.0, 3)),
    ('a{x="with space"} 2', ("a", {"x": "with space"}, 2.0, None)),
    ("plain 1e+06", ("plain", {}, 1e6, None)),
])
def test_parse_line(line: str, expected: tuple[object, ...]) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize("line", ['a{x="1" 2', "a", "a 1 2 3", "a one"])
def test_parse_line_refuses_what_is_not_the_text_format(line: str) -> None:
    with pytest.raises(DecodeError):
        parse_line(line)


@pytest.mark.parametrize(("last", "prev", "expected"), [
    (Point(0, T0 + 15 * S, 20 * S, 100), Point(0, T0, 5 * S, 50),
     Usage(S, 100, T0 + 15 * S, 15 * S)),
    (Point(0, T0 + 10 * S, 5 * S + 5 * S // 10, 7), Point(0, T0, 5 * S, 9),
     Usage(S // 20, 7, T0 + 10 * S, 10 * S)),
])
def test_usage_is_cpu_over_the_window_and_the_last_memory(last: Point, prev: Point,
                                                          expected: Usage) -> None:
    assert usage(last, prev) == expected


@pytest.mark.parametrize(("last", "prev", "message"), [
    (Point(1, T0 + S, 2, 1), Point(5, T0, 1, 1), "decrease in startTime"),
    (Point(0, T0 + S, 1, 1), Point(0, T0, 2, 1), "decrease in cumulative CPU"),
])
def test_usage_refuses_decreases(last: Point, prev: Point, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        usage(last, prev)


def _batch(at: int, cpu: int, start: int = T0 - 3600 * S) -> Batch:
    return Batch(nodes={"node1": Point(0, at, cpu, 1000)},
                 pods={("default", "web"): {"app": Point(start, at, cpu, 500)}})


def test_storage_needs_two_points_and_keeps_the_older_one() -> None:
    storage = Storage(15 * S)
    storage.store(_batch(T0, 10 * S))
    assert not storage.ready() and storage.node("node1") is None
    storage.store(_batch(T0 + 15 * S, 25 * S))
    assert storage.ready()
    assert storage.node("node1") == Usage(S, 1000, T0 + 15 * S, 15 * S)
    found = storage.pod(("default", "web"))
    assert found is not None and found[1]["app"].cpu_nanocores == S
    storage.store(_batch(T0 + 15 * S, 25 * S))  # the same point again: the older one stays
    assert storage.node("node1") == Usage(S, 1000, T0 + 15 * S, 15 * S)


def test_a_restarted_container_starts_again_and_a_fresh_one_counts_from_its_start() -> None:
    storage = Storage(15 * S)
    storage.store(_batch(T0, 10 * S))
    storage.store(_batch(T0 + 15 * S, S, start=T0 + 10 * S))  # restarted 5 s ago
    assert storage.pod(("default", "web")) is None
    fresh = Storage(15 * S)
    fresh.store(_batch(T0 + 12 * S, 6 * S, start=T0))  # 12 s old: from its start, 0 CPU
    found = fresh.pod(("default", "web"))
    assert found is not None
    assert found[1]["app"] == Usage(S // 2, 500, T0 + 12 * S, 12 * S)


@pytest.mark.parametrize(("nanocores", "text"), [
    (0, "0"), (250_000_000, "250m"), (1_234_567, "1234567n"), (2 * S, "2"),
    (1_500_000_000, "1500m"), (6_778_281, "6778281n"), (1000, "1u"),
])
def test_cpu_quantity_is_canonical_decimal_si(nanocores: int, text: str) -> None:
    assert quantity.cpu(nanocores) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (512, "512"), (1000, "1k"), (1024, "1Ki"), (1_536_000, "1500Ki"),
    (1_536_001, "1536001"), (3 * 2**30, "3Gi"), (20_800 * 1024, "20800Ki"),
])
def test_memory_quantity_is_binary_si(value: int, text: str) -> None:
    assert quantity.memory(value) == text


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (15 * S, "15s"), (14_869_000_000, "14.869s"), (60 * S, "1m0s"),
    (90 * S + S // 2, "1m30.5s"), (3661 * S, "1h1m1s"), (750_000_000, "750ms"),
    (1500, "1.5µs"), (42, "42ns"),
])
def test_duration_is_go_duration_string(ns: int, text: str) -> None:
    assert quantity.duration(ns) == text


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("app=web", {"app": "web"}, True),
    ("app==web,tier!=db", {"app": "web", "tier": "db"}, False),
    ("app in (web, api)", {"app": "api"}, True),
    ("app notin (web)", {"app": "web"}, False),
    ("app", {}, False),
    ("!app", {}, True),
    ("", {"a": "b"}, True),
    ("n>3", {"n": "5"}, True),  # upstream's labels.Parse has Gt/Lt
    ("n<3", {"n": "5"}, False),
])
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert label_matcher(selector)(labels) is expected


def test_a_malformed_label_selector_is_refused_as_the_api_server_does() -> None:
    with pytest.raises(SelectorError, match="unable to parse requirement: invalid label "
                                            "selector 'app=web,,='"):
        label_matcher("app=web,,=")


def test_field_selectors_know_only_name_and_namespace() -> None:
    assert field_matcher("metadata.name=web")({"metadata.name": "web"})
    with pytest.raises(SelectorError, match="field label not supported: spec.nodeName"):
        field_matcher("spec.nodeName=node1")


def test_kubelet_target_prefers_the_address_types_in_order() -> None:
    node = {"metadata": {"name": "node1"}, "status": {
        "addresses": [{"type": "Hostname", "address": "node1"},
                      {"type": "InternalIP", "address": "172.29.1.11"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10251}}}}
    target = kubelet_target(node, ["InternalIP", "Hostname"], True)
    assert target is not None and (target.host, target.port) == ("172.29.1.11", 10251)
    target = kubelet_target(node, ["Hostname"], False)
    assert target is not None and (target.host, target.port) == ("node1", 10250)
    assert kubelet_target(node, ["ExternalIP"], True) is None


def test_documents() -> None:
    u = Usage(6_778_281, 20_800 * 1024, T0, 14_869_000_000)
    assert api.node_metrics("node1", {"a": "b"}, u, T0 + S) == {
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "node1", "creationTimestamp": "2023-11-14T22:13:21Z",
                     "labels": {"a": "b"}},
        "timestamp": "2023-11-14T22:13:20Z", "window": "14.869s",
        "usage": {"cpu": "6778281n", "memory": "20800Ki"}}
    pod = api.pod_metrics("default", "web", {}, u, {"b": u, "a": u}, T0)
    assert [c["name"] for c in pod["containers"]] == ["a", "b"]
    assert api.not_found("podmetrics", "default/web")["message"] == \
        'podmetrics.metrics.k8s.io "default/web" not found'


@pytest.mark.parametrize(("attributes", "reason", "status"), [
    ({"resourceAttributes": {"verb": "get", "group": "metrics.k8s.io", "resource": "nodes",
                             "namespace": "", "name": "n1"}}, "",
     {"message": 'nodes.metrics.k8s.io "n1" is forbidden: User "jane" cannot get resource '
                 '"nodes" in API group "metrics.k8s.io" at the cluster scope',
      "details": {"name": "n1", "group": "metrics.k8s.io", "kind": "nodes"}}),
    ({"resourceAttributes": {"verb": "list", "group": "metrics.k8s.io", "resource": "pods",
                             "namespace": "team", "name": ""}}, "no binding",
     {"message": 'pods.metrics.k8s.io is forbidden: User "jane" cannot list resource "pods" '
                 'in API group "metrics.k8s.io" in the namespace "team": no binding',
      "details": {"group": "metrics.k8s.io", "kind": "pods"}}),
    ({"nonResourceAttributes": {"verb": "get", "path": "/apis/metrics.k8s.io"}}, "",
     {"message": 'forbidden: User "jane" cannot get path "/apis/metrics.k8s.io"'}),
])
def test_a_refusal_is_the_apiserver_librarys_forbidden_status(
        attributes: dict[str, object], reason: str, status: dict[str, object]) -> None:
    """responsewriters.ForbiddenStatusError: Go quoting, the scope, the review's reason, and a
    Status with reason Forbidden and the object's details (it was written by hand before)."""
    answer = api.forbidden("jane", attributes, reason)
    assert answer["code"] == 403 and answer["reason"] == "Forbidden"
    assert answer["message"] == status["message"]
    assert answer.get("details") == status.get("details")
