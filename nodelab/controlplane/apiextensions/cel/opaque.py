"""The Kubernetes library's own CEL types (`net.IP`, `net.CIDR`, `kubernetes.Quantity`,
`kubernetes.URL`), as protobuf messages: cel-cpp takes values of custom types from Python only
as messages. Each holds the value's text (a quantity its exact value as a fraction, so `==`
compares values, as upstream's `Equal`: `quantity('1') == quantity('1000m')`).

`add_to(pool)` adds them to a descriptor pool (the runtime environment's, and each checking
environment's); `Kinds` gives their CEL types and message classes (of the runtime pool, which
the library functions build their results from).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

# package -> messages; each message has one string field `value`
TYPES = {"net": ("IP", "CIDR"), "kubernetes": ("Quantity", "URL")}


def add_to(pool: Any) -> None:
    from google.protobuf import descriptor_pb2  # noqa: PLC0415

    field = descriptor_pb2.FieldDescriptorProto
    for package, names in TYPES.items():
        proto = descriptor_pb2.FileDescriptorProto(
            name=f"nodelab/{package}.proto", package=package, syntax="proto3")
        for name in names:
            message = proto.message_type.add(name=name)
            message.field.add(name="value", number=1, type=field.TYPE_STRING,
                              label=field.LABEL_OPTIONAL)
        pool.Add(proto)


@dataclass(frozen=True)
class Kinds:
    """The CEL type and message class of each library type."""

    ip: Any
    cidr: Any
    quantity: Any
    url: Any
    IP: Any
    CIDR: Any
    Quantity: Any
    URL: Any


def new_pool() -> Any:
    """A descriptor pool with protobuf's Struct, Duration and Timestamp and the library's types
    (a checking environment adds its schema's messages to one of its own)."""
    from google.protobuf import (  # noqa: PLC0415
        descriptor_pool,
        duration_pb2,
        struct_pb2,
        timestamp_pb2,
    )

    pool = descriptor_pool.DescriptorPool()
    for known in (struct_pb2, duration_pb2, timestamp_pb2):
        pool.AddSerializedFile(known.DESCRIPTOR.serialized_pb)
    add_to(pool)
    return pool


@functools.cache
def runtime_pool() -> Any:
    """The runtime environment's pool, built once."""
    return new_pool()


def kinds(cel: Any) -> Kinds:
    from google.protobuf import message_factory  # noqa: PLC0415

    pool = runtime_pool()

    def cls(name: str) -> Any:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))

    return Kinds(cel.Type("net.IP"), cel.Type("net.CIDR"), cel.Type("kubernetes.Quantity"),
                 cel.Type("kubernetes.URL"), cls("net.IP"), cls("net.CIDR"),
                 cls("kubernetes.Quantity"), cls("kubernetes.URL"))
