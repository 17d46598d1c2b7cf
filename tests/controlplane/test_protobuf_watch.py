"""Watches and errors in protobuf, for the clients that prefer it (client-go's typed clients):
each decoded here with upstream's generated messages only, as client-go decodes them, and the
same watch through the official Python client still JSON."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import kubernetes.client as k8s
import kubernetes.watch
from google.protobuf.message import Message

from nodelab.kube.protobuf.protojson import message_class, meta_class, runtime_unknown
from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.test_protobuf import response_types
from tests.controlplane.watchclient import admin_context

PROTOBUF = "application/vnd.kubernetes.protobuf"
ACCEPT = f"{PROTOBUF}, application/json"  # what client-go's typed clients send
MAGIC = b"k8s\x00"
# upstream's generated messages (nodelab/kube/proto, no type stubs: fields read untyped)
STATUS, WATCH_EVENT = meta_class("Status"), meta_class("WatchEvent")
CONFIG_MAP = message_class("v1", "ConfigMap")


def _connection(server: RunningApiServer, timeout: float = 10) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", server.port, context=admin_context(server),
                                       timeout=timeout)


def unwrap(envelope: bytes, message: type[Message]) -> tuple[str, str, Any]:
    """(apiVersion, kind, message) of a body in the `k8s\\0` + runtime.Unknown envelope."""
    assert envelope.startswith(MAGIC), envelope[:16]
    unknown: Any = runtime_unknown()()
    unknown.ParseFromString(envelope[len(MAGIC):])
    decoded: Any = message()
    decoded.ParseFromString(unknown.raw)
    return unknown.typeMeta.apiVersion, unknown.typeMeta.kind, decoded


def send(server: RunningApiServer, method: str, path: str, body: Any = None
         ) -> tuple[int, str, bytes]:
    connection = _connection(server)
    try:
        connection.request(method, path, body=None if body is None else json.dumps(body),
                           headers={"Accept": ACCEPT, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def frames(server: RunningApiServer, path: str, timeout: float = 15
           ) -> Iterator[tuple[str, bytes]]:
    """(type, object.raw) of each protobuf watch frame, until the stream ends."""
    connection = _connection(server, timeout)
    try:
        connection.request("GET", path, headers={"Accept": ACCEPT})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == f"{PROTOBUF};stream=watch"
        while True:
            head = response.read(4)
            if not head:
                return
            event: Any = WATCH_EVENT()
            event.ParseFromString(response.read(int.from_bytes(head, "big")))
            yield event.type, event.object.raw
    finally:
        connection.close()


def test_an_error_is_a_protobuf_status(apiserver: RunningApiServer) -> None:
    code, content_type, body = send(apiserver, "GET",
                                    "/api/v1/namespaces/default/pods/nowhere")
    assert (code, content_type) == (404, PROTOBUF)
    api_version, kind, status = unwrap(body, STATUS)
    assert (api_version, kind) == ("v1", "Status")
    assert (status.status, status.reason, status.code) == ("Failure", "NotFound", 404)
    assert status.message == 'pods "nowhere" not found'
    assert (status.details.name, status.details.kind) == ("nowhere", "pods")
    code, _, body = send(apiserver, "POST", "/api/v1/namespaces/default/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}})
    _, _, status = unwrap(body, STATUS)
    assert (code, status.reason) == (422, "Invalid")
    assert [(c.field, c.reason) for c in status.details.causes] == [
        ("metadata.name", "FieldValueInvalid")]


def test_kubectl_reads_a_protobuf_status(apiserver: RunningApiServer) -> None:
    refused = apiserver.kubectl("create", "namespace", "default", "-v=8", check=False)
    assert response_types(refused.stderr)[-1] == PROTOBUF
    assert 'Error from server (AlreadyExists): namespaces "default" already exists' \
        in refused.stderr


def test_a_protobuf_watch_carries_the_objects(apiserver: RunningApiServer) -> None:
    apiserver.kubectl("create", "namespace", "pbwatch")
    path = "/api/v1/namespaces/pbwatch/configmaps?watch=true&timeoutSeconds=20"
    events = frames(apiserver, path)
    apiserver.kubectl("create", "configmap", "first", "-n", "pbwatch", "--from-literal=a=b")
    seen: list[tuple[str, str, dict[str, str]]] = []
    for event_type, raw in events:
        api_version, kind, configmap = unwrap(raw, CONFIG_MAP)
        assert (api_version, kind) == ("v1", "ConfigMap")
        seen.append((event_type, configmap.metadata.name, dict(configmap.data)))
        if configmap.metadata.name == "first" and event_type == "ADDED":
            apiserver.kubectl("delete", "configmap", "first", "-n", "pbwatch")
        if event_type == "DELETED":
            break
    assert [s for s in seen if s[1] == "first"] == [("ADDED", "first", {"a": "b"}),
                                                      ("DELETED", "first", {"a": "b"})]


def test_a_protobuf_watch_error_is_a_status_frame(apiserver: RunningApiServer) -> None:
    events = list(frames(apiserver, "/api/v1/namespaces/default/configmaps?watch=true"
                                    "&resourceVersion=abc"))
    assert [event_type for event_type, _ in events] == ["ERROR"]
    _, kind, status = unwrap(events[0][1], STATUS)
    assert (kind, status.code, status.reason) == ("Status", 400, "BadRequest")
    assert status.message == "invalid resource version 'abc'"


def test_the_python_client_still_watches_json(apiserver: RunningApiServer,
                                              core: k8s.CoreV1Api) -> None:
    apiserver.kubectl("create", "namespace", "jsonwatch")
    apiserver.kubectl("create", "configmap", "plain", "-n", "jsonwatch", "--from-literal=x=y")
    watcher = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
    deadline = time.monotonic() + 20
    for event in watcher.stream(  # type: ignore[no-untyped-call]
            core.list_namespaced_config_map, "jsonwatch", timeout_seconds=10):
        if event["object"].metadata.name == "plain":
            assert event["type"] == "ADDED" and event["object"].data == {"x": "y"}
            watcher.stop()  # type: ignore[no-untyped-call]
            break
        assert time.monotonic() < deadline
    else:
        raise AssertionError("the JSON watch never sent the config map")


def test_a_body_refused_before_it_is_read_is_a_protobuf_status(
        apiserver: RunningApiServer) -> None:
    """The 413 of a body over the cap, answered from the headers alone, is negotiated too."""
    connection = _connection(apiserver)
    try:
        connection.putrequest("POST", "/api/v1/namespaces/default/configmaps")
        connection.putheader("Accept", ACCEPT)
        connection.putheader("Content-Type", PROTOBUF)
        connection.putheader("Content-Length", str(4 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        code, content_type, body = (response.status, response.getheader("Content-Type"),
                                    response.read())
    finally:
        connection.close()
    assert (code, content_type) == (413, PROTOBUF)
    _, kind, status = unwrap(body, STATUS)
    assert (kind, status.code, status.reason) == ("Status", 413, "RequestEntityTooLarge")


def test_kubectl_follows_a_pod_through_a_protobuf_watch(apiserver: RunningApiServer) -> None:
    """`kubectl run -i` waits for its pod with client-go's typed watch (protobuf, WatchList):
    it reads the initial events to their bookmark, then sees the pod fail (set here through
    the status subresource: no kubelet runs) and goes on to its logs."""
    apiserver.kubectl("create", "namespace", "pbrun")
    failed = threading.Event()

    def fail_the_pod() -> None:
        deadline = time.monotonic() + 30
        while apiserver.kubectl("get", "pod", "p", "-n", "pbrun", check=False).returncode:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        apiserver.kubectl("patch", "pod", "p", "-n", "pbrun", "--subresource=status",
                          "--type=merge", "-p", '{"status":{"phase":"Failed"}}')
        failed.set()

    patcher = threading.Thread(target=fail_the_pod)
    patcher.start()
    ran = apiserver.kubectl("run", "p", "-n", "pbrun", "--image=busybox", "--restart=Never",
                            "-i", "--pod-running-timeout=30s", "-v=8", check=False)
    patcher.join()
    assert failed.is_set()
    assert f"{PROTOBUF};stream=watch" in response_types(ran.stderr)
    assert "received the bookmark that marks the end of initial events stream" in ran.stderr
    assert "cannot encode" not in ran.stderr and "Falling back" not in ran.stderr
    # what kubectl does once the watch showed the pod finished: it asks for the logs
    assert ran.stderr.rstrip().endswith(
        "Error from server (BadRequest): pod p does not have a host assigned")
