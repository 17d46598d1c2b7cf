"""/openapi/v2 as protobuf: gnostic's Document, as kubectl decodes it."""

from __future__ import annotations

import pytest

from nodelab.controlplane.http import openapi, openapiv2_pb2

pytestmark = pytest.mark.unit


def test_the_document_decodes_with_paths_extensions_and_definitions() -> None:
    document = openapiv2_pb2.Document()
    document.ParseFromString(openapi.swagger_protobuf())
    assert document.swagger == "2.0" and document.info.version == "v1.37.0"
    paths = {p.name: p.value for p in document.paths.path}
    patch = paths["/api/v1/namespaces/{namespace}/pods/{name}"].patch
    extensions = {e.name: e.value.yaml for e in patch.vendor_extension}
    assert "kind: Pod" in extensions["x-kubernetes-group-version-kind"]
    names = [p.parameter.non_body_parameter.query_parameter_sub_schema.name
             for p in patch.parameters]
    assert "fieldValidation" in names
    definitions = {d.name: d.value for d in document.definitions.additional_properties}
    containers = {p.name: p.value for p in definitions[
        "io.k8s.api.core.v1.PodSpec"].properties.additional_properties}["containers"]
    assert list(containers.type.value) == ["array"]
    assert containers.items.schema[0]._ref == "#/definitions/io.k8s.api.core.v1.Container"
    merge_key = {e.name: e.value.yaml for e in containers.vendor_extension}
    assert merge_key["x-kubernetes-patch-merge-key"].strip() == "name"
