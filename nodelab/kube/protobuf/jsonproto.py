"""JSON objects as Kubernetes protobuf messages: the reverse of `protojson`.

kube-apiserver answers a client that asks for `application/vnd.kubernetes.protobuf` (kubectl's
typed clients and client-go do) with the object's protobuf encoding. nodelab keeps objects as
JSON, so `from_object` fills upstream's generated message (`nodelab/kube/proto/`) from one:

- a key goes to the field of the same name (upstream names proto fields after the JSON); the
  fields of embedded Go structs (`Volume.volumeSource`, `Probe.handler`, listed in
  `proto/gofields.json`) are filled from the same JSON object, as Go inlines them;
- upstream's own types take their JSON form back: `Time`/`MicroTime` from RFC 3339,
  `Duration` from Go's text (`1m30s`), `Quantity` from its string, `IntOrString` from an int
  or a string, `RawExtension` and `FieldsV1` as the JSON bytes they carry, `bytes` from base64,
  a wrapped slice (`ExtraValue`) from a plain list;
- a key the message does not define is left out, as decoding into the Go struct would drop it;
  a value of the wrong JSON type raises `EncodeError` (the caller answers in JSON instead).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from nodelab.kube.objects import Object
from nodelab.kube.protobuf import protojson
from nodelab.kubewire.times import parse_time

_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")


class EncodeError(ValueError):
    """A JSON object that does not fit its protobuf message."""


def parse_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds (`1h0m0s`, `1m30s`, `1.5s`, `-2ms`, `0`)."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    if not body or _DURATION_PART.sub("", body):
        raise EncodeError(f"time: invalid duration {text!r}")
    total = sum(float(number) * _DURATION_UNITS[unit]
                for number, unit in _DURATION_PART.findall(body))
    return sign * round(total)


def _fill_time(message: Message, value: Any, micro: bool) -> None:
    moment = parse_time(value) if isinstance(value, str) else None
    if moment is None:
        raise EncodeError(f"not a time: {value!r}")
    message.seconds = int(moment.timestamp())  # type: ignore[attr-defined]
    if micro:
        message.nanos = moment.microsecond * 1000  # type: ignore[attr-defined]


def _fill_special(message: Message, value: Any) -> bool:
    """Fill one of upstream's types with a JSON form of its own; False for ordinary ones."""
    name = message.DESCRIPTOR.full_name
    if name in (_META + "Time", _META + "MicroTime"):
        _fill_time(message, value, name.endswith("MicroTime"))
    elif name == _META + "Duration":
        message.duration = parse_duration(str(value))  # type: ignore[attr-defined]
    elif name == "k8s.io.apimachinery.pkg.api.resource.Quantity":
        message.string = str(value)  # type: ignore[attr-defined]
    elif name == "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        if isinstance(value, str):
            message.type, message.strVal = 1, value  # type: ignore[attr-defined]
        elif isinstance(value, int) and not isinstance(value, bool):
            message.type, message.intVal = 0, value  # type: ignore[attr-defined]
        else:
            raise EncodeError(f"not an int or string: {value!r}")
    elif name == "k8s.io.apimachinery.pkg.runtime.RawExtension":
        message.raw = json.dumps(value, separators=(",", ":")).encode()  # type: ignore[attr-defined]
    elif name == _META + "FieldsV1":
        message.Raw = json.dumps(value, separators=(",", ":")).encode()  # type: ignore[attr-defined]
    elif protojson.is_wrapped_slice(message.DESCRIPTOR):
        if not isinstance(value, list):
            raise EncodeError(f"not a list: {value!r}")
        field = message.DESCRIPTOR.fields[0]
        for item in value:
            _append(message, field, item)
    else:
        return False
    return True


def _scalar(field: Any, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise EncodeError(f"{field.name}: not base64 text")
        return base64.b64decode(value)
    if field.type == FieldDescriptor.TYPE_STRING and not isinstance(value, str):
        raise EncodeError(f"{field.name}: not a string: {value!r}")
    if field.type == FieldDescriptor.TYPE_BOOL and not isinstance(value, bool):
        raise EncodeError(f"{field.name}: not a boolean: {value!r}")
    return value


def _fill_message(message: Message, value: Any) -> None:
    if _fill_special(message, value):
        return
    if not isinstance(value, dict):
        raise EncodeError(f"{message.DESCRIPTOR.name}: not an object: {value!r}")
    _fill(message, value)


def _append(message: Message, field: Any, item: Any) -> None:
    repeated = getattr(message, field.name)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _fill_message(repeated.add(), item)
    else:
        repeated.append(_scalar(field, item))


def _set(message: Message, field: Any, value: Any) -> None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        if not isinstance(value, dict):
            raise EncodeError(f"{field.name}: not a map: {value!r}")
        target = getattr(message, field.name)
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            if value_field.type == FieldDescriptor.TYPE_MESSAGE:
                _fill_message(target[key], item)
            else:
                target[key] = _scalar(value_field, item)
    elif field.is_repeated:
        if not isinstance(value, list):
            raise EncodeError(f"{field.name}: not a list: {value!r}")
        for item in value:
            _append(message, field, item)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        child = getattr(message, field.name)
        child.SetInParent()
        _fill_message(child, value)
    else:
        setattr(message, field.name, _scalar(field, value))


def _fill(message: Message, obj: Object) -> None:
    descriptor = message.DESCRIPTOR
    inline = protojson.go_fields("inline").get(descriptor.full_name, frozenset())
    for field in descriptor.fields:
        if field.name in inline:
            child = getattr(message, field.name)
            child.SetInParent()
            _fill(child, obj)
        elif obj.get(field.name) is not None:
            try:
                _set(message, field, obj[field.name])
            except (TypeError, ValueError) as exc:
                raise EncodeError(f"{descriptor.name}.{field.name}: {exc}") from exc


def from_object(obj: Object, message_class: type[Message]) -> Message:
    """The message of `message_class` that `obj` stands for (see the module docstring)."""
    message = message_class()
    _fill(message, obj)
    return message
