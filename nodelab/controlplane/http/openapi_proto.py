"""/openapi/v2 in protobuf: the Swagger document as gnostic's `openapi.v2.Document`.

kubectl (client-go's `OpenAPISchema`) only ever asks for /openapi/v2 as
`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, and it does so whenever the
OpenAPI v3 documents do not know a group-version (an unknown kind): it reads which paths take
`fieldValidation` and, only then, finds no such kind and says "no matches for kind", as it
does against kube-apiserver. The message types are generated from gnostic-models'
`OpenAPIv2.proto` (`openapiv2_pb2`, see scripts/generate-protos); this module maps the JSON
document onto them the way gnostic's compiler does: vendor extensions as `NamedAny` with their
YAML text, `$ref` as `_ref`, `type` as a `TypeItem`, maps as lists of named pairs.
"""

from __future__ import annotations

from typing import Any

import yaml

from nodelab.controlplane.http import openapiv2_pb2 as pb
from nodelab.kube.objects import Object

# what clients ask for (either form), and what kube-openapi answers (Go's mime parser refuses "@")
ACCEPTED = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False).removesuffix("...\n")


def _extensions(value: Object) -> list[pb.NamedAny]:
    return [pb.NamedAny(name=key, value=pb.Any(yaml=_yaml(child)))
            for key, child in value.items() if key.startswith("x-")]


def _schema(value: Object) -> pb.Schema:
    schema = pb.Schema(
        _ref=value.get("$ref", ""), format=value.get("format", ""),
        title=value.get("title", ""), description=value.get("description", ""),
        required=value.get("required", []), vendor_extension=_extensions(value))
    if "type" in value:
        kinds = value["type"]
        schema.type.value.extend(kinds if isinstance(kinds, list) else [kinds])
    if "items" in value:
        schema.items.schema.append(_schema(value["items"]))
    if "properties" in value:
        schema.properties.additional_properties.extend(
            pb.NamedSchema(name=name, value=_schema(child))
            for name, child in value["properties"].items())
    extra = value.get("additionalProperties")
    if isinstance(extra, dict):
        schema.additional_properties.schema.CopyFrom(_schema(extra))
    elif isinstance(extra, bool):
        schema.additional_properties.boolean = extra
    for option in value.get("allOf", []):
        schema.all_of.append(_schema(option))
    for choice in value.get("enum", []):
        schema.enum.append(pb.Any(yaml=_yaml(choice)))
    return schema


def _parameter(value: Object) -> pb.ParametersItem:
    if value.get("in") == "body":
        return pb.ParametersItem(parameter=pb.Parameter(body_parameter=pb.BodyParameter(
            name=value.get("name", ""), description=value.get("description", ""),
            required=bool(value.get("required")), schema=_schema(value.get("schema", {})))))
    name, description = str(value.get("name", "")), str(value.get("description", ""))
    kind, required = str(value.get("type", "")), bool(value.get("required"))
    if value.get("in") == "path":
        path = pb.PathParameterSubSchema(name=name, description=description, type=kind,
                                         required=required)
        setattr(path, "in", "path")  # noqa: B010 (a Python keyword)
        non_body = pb.NonBodyParameter(path_parameter_sub_schema=path)
    else:
        query = pb.QueryParameterSubSchema(name=name, description=description, type=kind,
                                           required=required,
                                           unique_items=bool(value.get("uniqueItems")))
        setattr(query, "in", "query")  # noqa: B010 (a Python keyword)
        non_body = pb.NonBodyParameter(query_parameter_sub_schema=query)
    return pb.ParametersItem(parameter=pb.Parameter(non_body_parameter=non_body))


def _operation(value: Object) -> pb.Operation:
    responses = pb.Responses(response_code=[
        pb.NamedResponseValue(name=code, value=pb.ResponseValue(response=pb.Response(
            description=answer.get("description", ""),
            schema=pb.SchemaItem(schema=_schema(answer["schema"])) if "schema" in answer
            else None)))
        for code, answer in value.get("responses", {}).items()])
    return pb.Operation(
        operation_id=value.get("operationId", ""), description=value.get("description", ""),
        consumes=value.get("consumes", []), produces=value.get("produces", []),
        parameters=[_parameter(p) for p in value.get("parameters", [])],
        responses=responses, vendor_extension=_extensions(value))


def document(swagger: Object) -> bytes:
    """The serialized `openapi.v2.Document` of a Swagger 2.0 document."""
    paths = pb.Paths()
    for path, item in swagger.get("paths", {}).items():
        named = paths.path.add(name=path)
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                getattr(named.value, method).CopyFrom(_operation(operation))
    definitions = pb.Definitions(additional_properties=[
        pb.NamedSchema(name=name, value=_schema(schema))
        for name, schema in swagger.get("definitions", {}).items()])
    info = swagger.get("info", {})
    message = pb.Document(swagger=swagger.get("swagger", "2.0"),
                          info=pb.Info(title=info.get("title", ""),
                                       version=info.get("version", "")),
                          paths=paths, definitions=definitions)
    return bytes(message.SerializeToString())
