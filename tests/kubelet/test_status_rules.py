"""Unit tests: thresholds, conditions with upstream reasons, heartbeat rules, eviction order."""

from __future__ import annotations

import pytest

from nodelab.kubelet.cri import RuntimeCondition
from nodelab.kubelet.eviction.ranking import PodUsage, evicted_status, eviction_message, rank_pods
from nodelab.kubelet.eviction.signals import memory_available
from nodelab.kubelet.eviction.thresholds import (
    Observation,
    Threshold,
    active_conditions,
    conditions_of,
    parse_thresholds,
    remember_conditions,
    thresholds_met,
)
from nodelab.kubelet.node.conditions import compute_conditions, runtime_errors
from nodelab.kubelet.node.heartbeat import (
    fast_status_step,
    lease_object,
    should_post_status,
    status_changed,
)

pytestmark = pytest.mark.unit
MI = 2**20


def test_thresholds_met_with_quantity_and_percentage() -> None:
    thresholds = parse_thresholds({"memory.available": "100Mi", "nodefs.available": "10%",
                                   "pid.available": "1000"})
    assert thresholds[1] == Threshold("nodefs.available", percentage=0.10)
    observed = {
        "memory.available": Observation(50 * MI, 1000 * MI),
        "nodefs.available": Observation(200, 1000),
        "pid.available": Observation(5000, 10000),
    }
    met = thresholds_met(thresholds, observed)
    assert [t.signal for t in met] == ["memory.available"]
    assert conditions_of(met) == {"MemoryPressure"}
    observed["nodefs.available"] = Observation(99, 1000)
    assert conditions_of(thresholds_met(thresholds, observed)) == {
        "MemoryPressure", "DiskPressure"}


def test_pressure_transition_period() -> None:
    seen = remember_conditions({}, {"MemoryPressure"}, now=100.0)
    assert active_conditions(seen, 100.0, 300.0) == {"MemoryPressure"}
    seen = remember_conditions(seen, set(), now=200.0)
    assert active_conditions(seen, 399.0, 300.0) == {"MemoryPressure"}
    assert active_conditions(seen, 400.0, 300.0) == set()


def test_conditions_follow_upstream_setters() -> None:
    conds, events = compute_conditions([], set(), [], "t1")
    by_type = {c["type"]: c for c in conds}
    assert [c["type"] for c in conds] == ["MemoryPressure", "DiskPressure", "PIDPressure",
                                          "Ready"]
    assert by_type["Ready"]["reason"] == "KubeletReady"
    assert by_type["Ready"]["message"] == "kubelet is posting ready status"
    assert by_type["MemoryPressure"]["reason"] == "KubeletHasSufficientMemory"
    assert by_type["DiskPressure"]["reason"] == "KubeletHasNoDiskPressure"
    assert by_type["PIDPressure"]["message"] == "kubelet has sufficient PID available"
    assert events == ["NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                      "NodeHasSufficientPID", "NodeReady"]

    conds2, events2 = compute_conditions(conds, {"MemoryPressure"}, [], "t2")
    by_type2 = {c["type"]: c for c in conds2}
    assert events2 == ["NodeHasInsufficientMemory"]
    assert by_type2["MemoryPressure"]["status"] == "True"
    assert by_type2["MemoryPressure"]["reason"] == "KubeletHasInsufficientMemory"
    assert by_type2["MemoryPressure"]["lastTransitionTime"] == "t2"
    assert by_type2["Ready"]["lastTransitionTime"] == "t1"
    assert by_type2["Ready"]["lastHeartbeatTime"] == "t2"


def test_conditions_of_other_writers_are_not_the_kubelets() -> None:
    """node-problem-detector's KernelDeadlock, read back with the Node at start, is never in
    the kubelet's status patch: a stale copy would undo the detector's newer value."""
    theirs = {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung"}
    conds, _ = compute_conditions([theirs], set(), [], "t1")
    assert [c["type"] for c in conds] == ["MemoryPressure", "DiskPressure", "PIDPressure",
                                          "Ready"]


def test_ready_follows_runtime_status() -> None:
    ok = [RuntimeCondition("RuntimeReady", True), RuntimeCondition("NetworkReady", True)]
    assert runtime_errors(ok) == []
    assert runtime_errors(None) == ["container runtime is down"]
    no_net = [RuntimeCondition("RuntimeReady", True),
              RuntimeCondition("NetworkReady", False, "NetworkPluginNotReady",
                               "Network plugin returns error: cni plugin not initialized")]
    errors = runtime_errors(no_net)
    assert errors == ["container runtime network not ready: NetworkReady=false "
                      "reason:NetworkPluginNotReady message:Network plugin returns error: "
                      "cni plugin not initialized"]
    conds, events = compute_conditions([], set(), errors, "t1")
    ready = conds[-1]
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    assert ready["message"] == errors[0]
    assert events[-1] == "NodeNotReady"


def test_status_post_rules() -> None:
    a = {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t1"}]}
    b = {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t2"}]}
    c = {"conditions": [{"type": "Ready", "status": "False", "lastHeartbeatTime": "t2"}]}
    assert not status_changed(a, b)
    assert status_changed(a, c)
    assert should_post_status(None, a, None, 0, 300)
    assert not should_post_status(a, b, 100.0, 200.0, 300)
    assert should_post_status(a, b, 100.0, 400.0, 300)
    assert should_post_status(a, c, 100.0, 101.0, 300)


NOT_READY = ["container runtime network not ready: NetworkReady=false"]


@pytest.mark.parametrize(("posted_ready", "errors", "elapsed", "step"), [
    (False, NOT_READY, 0.1, "wait"),  # the CNI config is not there yet
    (False, [], 3.0, "post"),  # the runtime is ready now: post without waiting for the loop
    (True, [], 3.1, "stop"),  # the post said Ready: done
    (True, NOT_READY, 0.1, "stop"),  # Ready at start (a restart): nothing to hurry
    (False, NOT_READY, 120.0, "stop"),  # upstream's nodeReadyGracePeriod: the loop takes over
    (False, [], 120.0, "stop"),
])
def test_fast_status_update_rules(posted_ready: bool, errors: list[str], elapsed: float,
                                  step: str) -> None:
    assert fast_status_step(posted_ready, errors, elapsed) == step


def test_lease_object() -> None:
    lease = lease_object("node1", "uid-1", 40, "2026-01-01T00:00:00.000000Z")
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert lease["spec"]["holderIdentity"] == "node1"
    assert lease["spec"]["leaseDurationSeconds"] == 40


def _pod(name: str, request: str | None, priority: int = 0) -> dict[str, object]:
    resources = {"requests": {"memory": request}} if request else {}
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"priority": priority,
                     "containers": [{"name": "c", "resources": resources}]}}


def test_eviction_ranking_is_upstream_order() -> None:
    within = PodUsage(_pod("within", "500Mi"), 100 * MI, {"c": 100 * MI})
    small_over = PodUsage(_pod("small-over", "10Mi"), 50 * MI, {"c": 50 * MI})
    big_over = PodUsage(_pod("big-over", None), 400 * MI, {"c": 400 * MI})
    high_prio_over = PodUsage(_pod("prio", None, priority=1000), 900 * MI, {"c": 900 * MI})
    order = rank_pods([within, small_over, high_prio_over, big_over], "memory")
    assert [p.pod["metadata"]["name"] for p in order] == [
        "big-over", "small-over", "prio", "within"]


def test_eviction_message_and_status() -> None:
    victim = PodUsage(_pod("v", None), 70 * MI, {"c": 70 * MI})
    msg = eviction_message("memory", 100 * MI, 5 * MI, victim)
    assert msg == ("The node was low on resource: memory. Threshold quantity: 100Mi, "
                   "available: 5Mi. Container c was using 70Mi, request is 0, "
                   "has larger consumption of memory. ")
    status = evicted_status(msg, "t")
    assert (status["phase"], status["reason"]) == ("Failed", "Evicted")


def test_cri_log_records() -> None:
    import datetime

    from nodelab.kubelet.container_logs import parse_time, render

    text = ("2026-01-01T00:00:00.000000001Z stdout F hello\n"
            "2026-01-01T00:00:01.5+00:00 stderr P par\n"
            "2026-01-01T00:00:02Z stderr F tial\n"
            "2026-01-01T00:00:03Z stdout F last\n")
    assert render(text) == "hello\npartial\nlast\n"
    assert render(text, tail_lines=1) == "last\n"
    assert render(text, tail_lines=0) == ""
    assert render(text, timestamps=True, tail_lines=1) == "2026-01-01T00:00:03Z last\n"
    since = datetime.datetime(2026, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc)
    assert render(text, since=since) == "partial\nlast\n"
    assert render(text, limit_bytes=3) == "hel"
    assert parse_time("2026-01-01T01:00:00+01:00") == parse_time("2026-01-01T00:00:00Z")
    # every byte: a last line without a newline is a P record, shown as it is (upstream)
    ending = text + "2026-01-01T00:00:04Z stdout P no-newline\n"
    assert render(ending) == "hello\npartial\nlast\nno-newline"
    assert render(ending, tail_lines=2) == "last\nno-newline"
    assert render(ending, timestamps=True, tail_lines=3) == (
        "2026-01-01T00:00:02Z tial\n2026-01-01T00:00:03Z last\n"
        "2026-01-01T00:00:04Z no-newline")


def test_spdy_frames_and_headers() -> None:
    import zlib

    from nodelab.kubelet.server import spdy
    from nodelab.kubelet.server.spdy_dictionary import SPDY3_DICTIONARY

    assert (len(SPDY3_DICTIONARY), zlib.adler32(SPDY3_DICTIONARY)) == (1423, 0xE3C6A7C2)
    client, server = spdy.HeaderCodec(), spdy.HeaderCodec()
    wire = bytearray(spdy.syn_stream(client, 1, {"streamType": "error", "port": "8080",
                                                 "requestID": "0"}))
    wire += spdy.syn_stream(client, 3, {"streamType": "data", "port": "8080",
                                        "requestID": "0"})
    wire += spdy.data_frame(3, b"GET / HTTP/1.0\r\n\r\n", fin=True)
    wire += b"\x80\x03"  # the start of a frame not yet complete
    frames = spdy.take_frames(wire)
    assert wire == bytearray(b"\x80\x03")
    assert [(f.control, f.type, f.stream_id) for f in frames] == [
        (True, spdy.SYN_STREAM, 1), (True, spdy.SYN_STREAM, 3), (False, 0, 3)]
    assert spdy.syn_stream_headers(server, frames[0]) == {
        "streamtype": "error", "port": "8080", "requestid": "0"}
    assert spdy.syn_stream_headers(server, frames[1])["streamtype"] == "data"
    assert frames[2].fin and frames[2].payload.startswith(b"GET /")
    reply = bytearray(spdy.syn_reply(server, 3))
    (parsed,) = spdy.take_frames(reply)
    assert (parsed.type, parsed.stream_id) == (spdy.SYN_REPLY, 3)
    assert client.decode(parsed.payload[4:]) == {}


def test_websocket_client_frames() -> None:
    import socket

    from wsproto.connection import Connection as WSConnection
    from wsproto.connection import ConnectionType
    from wsproto.events import BytesMessage

    from nodelab.kubelet.server.websocket_client import WebSocketClient

    a, b = socket.socketpair()
    try:
        ws = WebSocketClient(a)
        server_frames = (bytes([0x02, 3]) + b"\x00ab"        # first fragment, unmasked
                         + bytes([0x80, 2]) + b"cd"           # continuation, final
                         + bytes([0x82, 126]) + (300).to_bytes(2, "big") + b"x" * 300)
        assert ws.feed(server_frames) == [b"\x00abcd", b"x" * 300]
        ws.send(b"hello")  # masked, as a client must: a real server reads it back
        server = WSConnection(ConnectionType.SERVER)
        server.receive_data(b.recv(64))
        (event,) = list(server.events())
        assert isinstance(event, BytesMessage) and event.data == b"hello"
        assert ws.feed(bytes([0x88, 0])) == [] and ws.closed
    finally:
        a.close()
        b.close()


def test_stream_request_head_keeps_repeated_headers() -> None:
    from nodelab.kubelet.server.streaming import request_head

    headers = [("Connection", "Upgrade"), ("Upgrade", "websocket"),
               ("X-Stream-Protocol-Version", "v5.channel.k8s.io"),
               ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
               ("Host", "apiserver:6443"), ("Content-Length", "0")]
    head = request_head("GET", "/exec/abc", "127.0.0.1:4000", headers).decode()
    lines = head.split("\r\n")
    assert lines[0] == "GET /exec/abc HTTP/1.1"
    assert lines[1] == "Host: 127.0.0.1:4000"
    assert lines.count("X-Stream-Protocol-Version: v5.channel.k8s.io") == 1
    assert lines.count("X-Stream-Protocol-Version: v4.channel.k8s.io") == 1
    assert "Origin: http://127.0.0.1:4000" in lines  # containerd refuses a WebSocket without
    assert not any(line.startswith(("Host: apiserver", "Content-Length")) for line in lines)
    assert head.endswith("\r\n\r\n")


MEMINFO = {"MemTotal": 8000 * MI, "MemAvailable": 5000 * MI}


@pytest.mark.parametrize(("node_group", "exists", "working_set", "limit", "expected"), [
    # a lab node: capacity minus its own group's working set, whatever the host does
    (True, True, 300 * MI, None, Observation(7700 * MI, 8000 * MI)),
    (True, True, 300 * MI, 1000 * MI, Observation(700 * MI, 1000 * MI)),  # a lower limit
    (True, True, 9000 * MI, None, Observation(0, 8000 * MI)),
    (True, False, None, None, Observation(8000 * MI, 8000 * MI)),  # no pod has run yet
    # the root group of a machine of its own; cgroup v2's root has no memory accounting
    (False, True, 2000 * MI, None, Observation(6000 * MI, 8000 * MI)),
    (False, True, None, None, Observation(5000 * MI, 8000 * MI)),
])
def test_memory_available_is_the_nodes_capacity_less_its_cgroups_working_set(
        node_group: bool, exists: bool, working_set: int | None, limit: int | None,
        expected: Observation) -> None:
    assert memory_available(MEMINFO, node_group, exists, working_set, limit) == expected
