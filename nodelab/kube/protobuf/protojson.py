"""Kubernetes protobuf messages as the JSON objects they stand for.

The messages are upstream's own (`k8s.io/api/<group>/<version>/generated.proto` and
apimachinery's, compiled into `nodelab/kube/proto/` by scripts/generate-protos), so every
field of every served kind decodes. Turning one into JSON follows what kube-apiserver does
(decode into the Go struct, encode that as JSON):

- field names are the JSON names (upstream names proto fields after them);
- Go writes every non-pointer field on the wire, so a zero scalar (`""`, `0`, `false`) is
  dropped unless Go's JSON keeps it: a pointer field, or one without `omitempty`
  (`proto/gofields.json`, read from upstream's struct tags by scripts/fetch-kubernetes-protos);
  message fields are kept when present (`"resources": {}`), as Go writes structs, and the
  fields of embedded structs (`Volume.volumeSource`, `Probe.handler`) are inlined, as JSON has
  them;
- upstream's own types keep their JSON form: `Time` and `MicroTime` as RFC 3339 (zero:
  omitted), `Duration` as Go prints it, `Quantity` as its string, `IntOrString` as an int or a
  string, `RawExtension` and `FieldsV1` as the JSON they carry, `bytes` as base64, and
  slice types wrapped in a message (`ExtraValue`) as plain lists.
"""

from __future__ import annotations

import base64
import datetime
import functools
import importlib
import json
from importlib import resources
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from nodelab.kube.objects import Object
from nodelab.kubewire.times import format_time, micro_time

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_PROTO_PACKAGE = "nodelab.kube.proto"


@functools.cache
def go_fields(section: str) -> dict[str, frozenset[str]]:
    text = resources.files(_PROTO_PACKAGE).joinpath("gofields.json").read_text()
    return {k: frozenset(v) for k, v in json.loads(text)[section].items()}


def proto_package(api_version: str) -> str:
    """`apps/v1` -> `k8s.io.api.apps.v1`; `v1` -> `k8s.io.api.core.v1`."""
    group, _, version = api_version.rpartition("/")
    return f"k8s.io.api.{group.split('.')[0] if group else 'core'}.{version}"


def message_class(api_version: str, kind: str) -> type[Message] | None:
    """The generated class of `kind` in `api_version`, or None when upstream has none."""
    package = proto_package(api_version)
    module_name = f"{_PROTO_PACKAGE}.{package}.generated_pb2"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, kind, None)
    return found if isinstance(found, type) and issubclass(found, Message) else None


def meta_class(kind: str) -> type[Message]:
    """A meta/v1 message class (`DeleteOptions`, `TypeMeta`, ...)."""
    module = importlib.import_module(
        f"{_PROTO_PACKAGE}.k8s.io.apimachinery.pkg.apis.meta.v1.generated_pb2")
    found: type[Message] = getattr(module, kind)
    return found


def runtime_unknown() -> type[Message]:
    module = importlib.import_module(
        f"{_PROTO_PACKAGE}.k8s.io.apimachinery.pkg.runtime.generated_pb2")
    found: type[Message] = module.Unknown
    return found


def _time(message: Message, micro: bool) -> str | None:
    seconds, nanos = message.seconds, message.nanos  # type: ignore[attr-defined]
    if not seconds and not nanos:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    if micro:
        return micro_time(moment.replace(microsecond=nanos // 1000))
    return format_time(moment)


def _duration(nanoseconds: int) -> str:
    """Go's time.Duration.String() for whole units (`1h0m0s`, `90s` -> `1m30s`)."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    total = abs(nanoseconds)
    if total < 1_000_000_000:
        return f"{sign}{total / 1_000_000:g}ms" if total >= 1_000_000 else f"{sign}{total}ns"
    seconds = total / 1_000_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours:
        return f"{sign}{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{sign}{int(minutes)}m{text}"
    return sign + text


_MISSING = object()


def _special(message: Message) -> Any:
    """Upstream types with a JSON form of their own; `_MISSING` for ordinary messages."""
    name = message.DESCRIPTOR.full_name
    if name in (_META + "Time", _META + "MicroTime"):
        return _time(message, name.endswith("MicroTime"))
    if name == _META + "Duration":
        return _duration(message.duration)  # type: ignore[attr-defined]
    if name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return message.string or None  # type: ignore[attr-defined]
    if name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        if message.type == 1:  # type: ignore[attr-defined]
            return message.strVal  # type: ignore[attr-defined]
        return message.intVal or None  # type: ignore[attr-defined]
    if name in ("k8s.io.apimachinery.pkg.runtime.RawExtension", _META + "FieldsV1"):
        raw = message.raw if hasattr(message, "raw") else message.Raw  # type: ignore[attr-defined]
        return json.loads(raw) if raw else None
    if is_wrapped_slice(message.DESCRIPTOR):
        return [_value(message.DESCRIPTOR.fields[0], v)
                for v in message.items]  # type: ignore[attr-defined]
    return _MISSING


def is_wrapped_slice(descriptor: Any) -> bool:
    """`ExtraValue` and friends: a Go slice type (`[]string`), a message with one repeated
    scalar `items`. A struct whose only field is a list of objects (`DownwardAPIProjection`:
    `{"items": [...]}` in JSON) is not one."""
    fields = descriptor.fields
    return (len(fields) == 1 and fields[0].name == "items"
            and fields[0].is_repeated and fields[0].type != FieldDescriptor.TYPE_MESSAGE)


def _value(field: Any, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        special = _special(value)
        return to_object(value) if special is _MISSING else special
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def to_object(message: Message) -> Object:
    """The JSON object of a message (see the module docstring)."""
    descriptor = message.DESCRIPTOR
    kept = go_fields("zeros").get(descriptor.full_name, frozenset())
    inline = go_fields("inline").get(descriptor.full_name, frozenset())
    result: Object = {}
    for field, value in message.ListFields():
        if field.name in inline:  # an embedded Go struct: its fields are this object's
            result.update(to_object(value))
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            result[field.name] = {k: _value(value_field, v) for k, v in value.items()}
        elif field.is_repeated:
            result[field.name] = [_value(field, v) for v in value]
        else:
            converted = _value(field, value)
            if converted is None:
                continue
            if field.type != FieldDescriptor.TYPE_MESSAGE and converted in ("", 0, False) and (
                    field.name not in kept):
                continue
            result[field.name] = converted
    return result
