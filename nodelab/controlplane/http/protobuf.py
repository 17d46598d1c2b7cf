"""Kubernetes protobuf (`application/vnd.kubernetes.protobuf`): request bodies decoded,
responses encoded for the clients that ask for them.

kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|service|sa`,
`create token`, `debug node/...`, `drain`'s evictions, `auth can-i`) send their bodies as
protobuf, not JSON, and do not fall back when refused. This module turns such a body into the
JSON object the same request would have carried:

- the envelope is the 4-byte magic `k8s\\0` and a `runtime.Unknown` message (typeMeta, raw);
- `raw` is the message of the kind named in typeMeta, decoded with upstream's own generated
  messages and turned into JSON as kube-apiserver would (`kube/protobuf/protojson.py`):
  every field of every kind upstream defines, nothing kept by hand.

Responses: a client whose `Accept` prefers protobuf (client-go's typed clients and kubectl send
`application/vnd.kubernetes.protobuf, application/json`) gets an object, a list or an error `Status`
in the same envelope (`kube/protobuf/jsonproto.py` fills the message), as kube-apiserver's content
negotiation picks the first acceptable type. A watch is upstream's protobuf stream
(`application/vnd.kubernetes.protobuf;stream=watch`): each event a frame of a 4-byte big-endian
length and a `metav1.WatchEvent` (the stream serializer is the raw one: no envelope), whose
`object.raw` is the object in the envelope, as the embedded encoder writes it. What has no protobuf
form stays JSON with its own Content-Type, which clients accept as they do for custom resources:
Tables (`as=Table`), discovery, and kinds upstream has no message for (their watches too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from google.protobuf.message import DecodeError, Message

from nodelab.controlplane import errors
from nodelab.controlplane.http.messages import Response
from nodelab.kube.objects import Object
from nodelab.kube.protobuf import jsonproto, protojson

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
log = logging.getLogger(__name__)
WATCH_CONTENT_TYPE = CONTENT_TYPE + ";stream=watch"


def _message(api_version: str, kind: str) -> type[Message]:
    found = protojson.message_class(api_version, kind)
    if found is None:
        try:
            found = protojson.meta_class(kind)  # DeleteOptions, ... (meta.k8s.io/v1)
        except AttributeError:
            raise errors.ApiError(
                415, "UnsupportedMediaType",
                f"no kind {kind!r} is registered in protobuf for version {api_version!r}"
            ) from None
    return found


def decode(body: bytes) -> Object:
    """A protobuf request body as the JSON object it stands for (400 if it cannot be read)."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("protobuf body without the k8s\\0 envelope")
    try:
        unknown = protojson.runtime_unknown()()
        unknown.ParseFromString(body[len(MAGIC):])
        api_version = unknown.typeMeta.apiVersion  # type: ignore[attr-defined]
        kind = unknown.typeMeta.kind  # type: ignore[attr-defined]
        message = _message(api_version, kind)()
        message.ParseFromString(unknown.raw)  # type: ignore[attr-defined]
    except DecodeError as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **protojson.to_object(message)}


def _media_ranges(accept: str) -> list[tuple[float, int, str]]:
    """The media types of an Accept header, best first: (quality, position, type)."""
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((-quality, position, media.lower()))
    return sorted(ranges)


def wanted(accept: str) -> bool:
    """Whether the client's first choice among what nodelab serves is protobuf (a Table or any
    other `as=` conversion is JSON only)."""
    if "as=" in accept:
        return False
    for _, _, media in _media_ranges(accept):
        if media == CONTENT_TYPE:
            return True
        if media in ("application/json", "application/yaml", "*/*", "application/*"):
            return False
    return False


def message_for(api_version: str, kind: str) -> type[Message] | None:
    """Upstream's message for a kind, or None; `Status` is meta/v1's in every version."""
    if not api_version or not kind:
        return None
    if kind == "Status" and api_version == "v1":
        return protojson.meta_class("Status")
    return protojson.message_class(api_version, kind)


def encode(obj: Object) -> bytes | None:
    """`obj` in the protobuf envelope, or None when upstream has no message for its kind or
    the object does not fit it (the caller answers JSON)."""
    api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
    message_class = message_for(api_version, kind)
    if message_class is None:
        return None
    try:
        raw = jsonproto.from_object(obj, message_class).SerializeToString()
    except jsonproto.EncodeError as exc:  # a stored object should always fit: say which not
        log.warning("cannot encode %s %r in protobuf: %s", kind,
                    (obj.get("metadata") or {}).get("name"), exc)
        return None
    unknown = protojson.runtime_unknown()()
    unknown.typeMeta.apiVersion = api_version  # type: ignore[attr-defined]
    unknown.typeMeta.kind = kind  # type: ignore[attr-defined]
    unknown.raw = raw  # type: ignore[attr-defined]
    unknown.contentEncoding = ""  # type: ignore[attr-defined]
    unknown.contentType = ""  # type: ignore[attr-defined]
    return MAGIC + unknown.SerializeToString()


def watch_frame(event_type: str, obj: Object) -> bytes:
    """One watch event as upstream's protobuf stream writes it: length, then the WatchEvent.
    An object that does not fit its message becomes an ERROR event with a 500 Status (the
    stream cannot change its encoding half-way)."""
    raw = encode(obj)
    if raw is None:
        error = errors.ApiError(500, "InternalError", "Internal error occurred: cannot encode "
                                f"{obj.get('kind')} {obj.get('metadata', {}).get('name')!r} "
                                "in protobuf")
        event_type, raw = "ERROR", encode(error.status())
    event = protojson.meta_class("WatchEvent")()
    event.type = event_type  # type: ignore[attr-defined]
    event.object.raw = raw  # type: ignore[attr-defined]
    body = event.SerializeToString()
    return len(body).to_bytes(4, "big") + body


def json_line(event_type: str, obj: Object) -> bytes:
    """One watch event as upstream's JSON stream writes it: a line."""
    return json.dumps({"type": event_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def watch_framing(accept: str, api_version: str, kind: str
                  ) -> tuple[Callable[[str, Object], bytes], str]:
    """(event writer, Content-Type) of a watch: protobuf when the client prefers it and the
    kind has a message, JSON lines otherwise."""
    if wanted(accept) and message_for(api_version, kind) is not None:
        return watch_frame, WATCH_CONTENT_TYPE
    return json_line, "application/json"


def negotiated(response: Response, accept: str) -> Response:
    """An object, list or error Status answered in protobuf when the client prefers it and it
    has a protobuf form; anything else as it is (a Table, a stream, raw bytes)."""
    if (response.body is None or response.raw is not None
            or response.stream is not None or response.tunnel is not None
            or response.content_type != "application/json" or not wanted(accept)):
        return response
    encoded = encode(response.body)
    if encoded is None:
        return response
    return Response(response.code, raw=encoded, content_type=CONTENT_TYPE,
                    headers=response.headers)
