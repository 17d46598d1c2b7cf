"""Decoding Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

kubectl's typed clients (`kubectl create namespace|configmap|secret|deployment|service|sa`,
`create token`, `debug node/...`, `drain`'s evictions, `auth can-i`) send their bodies as
protobuf, not JSON, and do not fall back when refused. This module turns such a body into the
JSON object the same request would have carried:

- the envelope is the 4-byte magic `k8s\\0` and a `runtime.Unknown` message (typeMeta, raw);
- `raw` is the message of the kind named in typeMeta, decoded with upstream's own generated
  messages and turned into JSON as kube-apiserver would (`nodelab.kube.protojson`): every
  field of every kind upstream defines, nothing kept by hand.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError, Message

from nodelab.controlplane import errors
from nodelab.kube import protojson
from nodelab.kube.objects import Object

MAGIC = b"k8s\x00"


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
