"""The CEL environments of CRD validation rules (upstream's `environment.MustBaseEnvSet` plus the
rule's `self`/`oldSelf`), on cel-cpp through `cel_expr_python`.

- the **checking** environment of one rule node: `self` and `oldSelf` of the node's declared
  type (`decltypes`), object types as messages of a descriptor pool built for that node, so
  `self.foo` on a schema without `foo` is upstream's compile error;
- the **runtime** environment, shared: `self` and `oldSelf` are `dyn` and bound to the object's
  maps and lists, so a missing field is an evaluation error ("no such key") as upstream's
  unstructured values give.

Both carry the standard functions, the strings, optional-types and `cel.bind` extensions
and the Kubernetes library (`library.extension`, whose types are in both pools). cel-cpp's
evaluator stops a rule after 10,000 comprehension iterations ("Iteration budget exceeded"),
the runtime limit of nodelab's rules (upstream bounds cost instead: estimated at CRD
creation, counted at run time).
"""

from __future__ import annotations

import functools
from typing import Any

from nodelab.controlplane.apiextensions.cel import library, opaque
from nodelab.controlplane.apiextensions.cel.decltypes import PACKAGE, DeclType

OPTIONAL_OLD = "__nodelab_old"
OPTIONAL_HAS_OLD = "__nodelab_has_old"


class Unavailable(RuntimeError):
    """cel-expr-python is not installed (it needs Python 3.11)."""


def cel_module() -> Any:
    try:
        from cel_expr_python import cel  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - Python 3.10
        raise Unavailable("CEL rules need the cel-expr-python package (Python 3.11 or "
                          "later)") from exc
    return cel


def _extensions(cel: Any) -> list[Any]:
    from cel_expr_python.ext import (  # type: ignore[import-untyped]  # noqa: PLC0415
        ext_bindings,
        ext_optional,
        ext_strings,
    )

    return [ext_strings.ExtStrings(), ext_optional.ExtOptional(), ext_bindings.ExtBindings(),
            library.extension(cel)]


# cel-cpp's own libraries, by name: upstream's ext.TwoVarComprehensions (Kubernetes 1.32) and
# ext.Lists (1.34; cel-go's version 3 is cel-cpp's 2 with cost estimates, `lists_cost`)
CONFIG = """extensions:
  - name: "two-var-comprehensions"
  - name: "lists"
    version: 2
"""


def _config(cel: Any) -> Any:
    return cel.NewEnvConfigFromYaml(CONFIG)


@functools.cache
def runtime_env() -> Any:
    cel = cel_module()
    return cel.NewEnv(opaque.runtime_pool(), config=_config(cel),
                      variables={"self": cel.Type.DYN, "oldSelf": cel.Type.DYN,
                                 OPTIONAL_OLD: cel.Type.DYN,
                                 OPTIONAL_HAS_OLD: cel.Type.BOOL},
                      extensions=_extensions(cel))


def checking_env(decl: DeclType) -> Any:
    """An environment whose `self`/`oldSelf` have the declared type `decl`."""
    cel = cel_module()
    pool = _pool(decl)
    kind = cel_type(cel, decl)
    return cel.NewEnv(pool, config=_config(cel),
                      variables={"self": kind, "oldSelf": kind, OPTIONAL_OLD: kind,
                                       OPTIONAL_HAS_OLD: cel.Type.BOOL},
                      extensions=_extensions(cel))


def cel_type(cel: Any, decl: DeclType) -> Any:
    T = cel.Type
    scalars = {"int": T.INT, "double": T.DOUBLE, "bool": T.BOOL, "string": T.STRING,
               "bytes": T.BYTES, "duration": T.DURATION, "timestamp": T.TIMESTAMP,
               "dyn": T.DYN}
    if decl.kind in scalars:
        return scalars[decl.kind]
    assert decl.elem is not None or decl.kind == "object"
    if decl.kind == "list":
        return T.List(cel_type(cel, decl.elem))  # type: ignore[arg-type]
    if decl.kind == "map":
        return T.Map(T.STRING, cel_type(cel, decl.elem))  # type: ignore[arg-type]
    return T(f"{PACKAGE}.{decl.name}")


_PROTO_SCALARS = {"int": "TYPE_INT64", "double": "TYPE_DOUBLE", "bool": "TYPE_BOOL",
                  "string": "TYPE_STRING", "bytes": "TYPE_BYTES"}
_PROTO_MESSAGES = {"duration": ".google.protobuf.Duration",
                   "timestamp": ".google.protobuf.Timestamp", "dyn": ".google.protobuf.Value"}


def _pool(decl: DeclType) -> Any:
    from google.protobuf import descriptor_pb2  # noqa: PLC0415

    pool = opaque.new_pool()
    proto = descriptor_pb2.FileDescriptorProto(
        name="nodelab/crd.proto", package=PACKAGE, syntax="proto2",
        dependency=["google/protobuf/struct.proto", "google/protobuf/duration.proto",
                    "google/protobuf/timestamp.proto"])
    seen: set[str] = set()
    _messages(proto, decl, seen, descriptor_pb2.FieldDescriptorProto)
    pool.Add(proto)
    return pool


def _messages(proto: Any, decl: DeclType, seen: set[str], field_proto: Any) -> None:
    if decl.elem is not None:
        _messages(proto, decl.elem, seen, field_proto)
    if decl.kind != "object" or decl.name in seen:
        return
    seen.add(decl.name)
    message = proto.message_type.add(name=decl.name)
    for number, (name, kind) in enumerate(decl.fields, start=1):
        _messages(proto, kind, seen, field_proto)
        field = message.field.add(name=name, number=number, json_name=name,
                                  label=field_proto.LABEL_OPTIONAL)
        if kind.kind == "list" and kind.elem is not None and kind.elem.kind not in (
                "list", "map"):
            field.label = field_proto.LABEL_REPEATED
            _set_type(field, kind.elem, field_proto)
        elif kind.kind == "list":
            _set_message(field, ".google.protobuf.ListValue", field_proto)
        elif kind.kind == "map" and kind.elem is not None:
            entry = message.nested_type.add(name=_entry_name(name))
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, label=field_proto.LABEL_OPTIONAL,
                            type=field_proto.TYPE_STRING)
            value = entry.field.add(name="value", number=2, label=field_proto.LABEL_OPTIONAL)
            if kind.elem.kind in ("list", "map"):
                _set_message(value, ".google.protobuf.Value", field_proto)
            else:
                _set_type(value, kind.elem, field_proto)
            field.label = field_proto.LABEL_REPEATED
            _set_message(field, f".{PACKAGE}.{decl.name}.{_entry_name(name)}", field_proto)
        else:
            _set_type(field, kind, field_proto)


def _entry_name(field: str) -> str:
    """protobuf's name of a map field's entry message (`foo_bar` -> `FooBarEntry`)."""
    return "".join(part[:1].upper() + part[1:] for part in field.split("_")) + "Entry"


def _set_type(field: Any, kind: DeclType, field_proto: Any) -> None:
    if kind.kind in _PROTO_SCALARS:
        field.type = getattr(field_proto, _PROTO_SCALARS[kind.kind])
    elif kind.kind in _PROTO_MESSAGES:
        _set_message(field, _PROTO_MESSAGES[kind.kind], field_proto)
    else:
        _set_message(field, f".{PACKAGE}.{kind.name}", field_proto)


def _set_message(field: Any, type_name: str, field_proto: Any) -> None:
    field.type = field_proto.TYPE_MESSAGE
    field.type_name = type_name
