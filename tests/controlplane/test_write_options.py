"""A write's options (dryRun, fieldManager, fieldValidation, force) checked as kube-apiserver's
handlers check them, on every verb and the eviction subresource: the causes as a table, then
the answers of a real API server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodelab.controlplane.registry import write_options
from tests.controlplane.apiserver import RunningApiServer
from tests.controlplane.watchclient import request

PODS = "/api/v1/namespaces/default/pods"
POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wo"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.mark.unit
@pytest.mark.parametrize(("verb", "query", "apply", "causes"), [
    ("create", {}, False, []),
    ("create", {"dryRun": ["All"]}, False, []),
    ("create", {"dryRun": ["All", "Bogus"]}, False,
     ['dryRun: Unsupported value: ["All","Bogus"]: supported values: "All"']),
    ("update", {"dryRun": [""]}, False, ['dryRun: Unsupported value: [""]: supported values: '
                                         '"All"']),
    ("update", {"fieldValidation": ["strict"]}, False, [
        'fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", '
        '"Strict", "Warn"']),
    ("create", {"fieldValidation": [""]}, False, []),
    ("create", {"fieldManager": ["m" * 129]}, False, [
        "fieldManager: Too long: may not be more than 128 bytes"]),
    ("create", {"fieldManager": ["é\x07"]}, False, [
        'fieldManager: Invalid value: "é\\a": invalid character U+0007 (at position 2)']),
    ("patch", {}, True, ["fieldManager: Required value: is required for apply patch"]),
    ("patch", {"fieldManager": ["me"], "force": ["true"]}, True, []),
    ("patch", {"force": ["true"]}, False, [
        "force: Forbidden: may not be specified for non-apply patch"]),
    ("patch", {"dryRun": ["x"]}, True, [
        "fieldManager: Required value: is required for apply patch",
        'dryRun: Unsupported value: ["x"]: supported values: "All"']),
])
def test_option_causes(verb: str, query: dict[str, list[str]], apply: bool,
                       causes: list[str]) -> None:
    found = write_options.option_errors(verb, query, apply)
    assert [f"{c.field}: {c.message}" for c in found] == causes


def _invalid(kind: str, cause: str) -> str:
    return f'{kind}.meta.k8s.io "" is invalid: {cause}'


DRY_RUN = 'dryRun: Unsupported value: ["Bogus"]: supported values: "All"'


def test_every_verb_checks_dry_run(apiserver: RunningApiServer) -> None:
    code, answer = request(apiserver, "POST", f"{PODS}?dryRun=Bogus", POD)
    assert (code, answer["message"]) == (422, _invalid("CreateOptions", DRY_RUN))
    assert answer["details"] == {"kind": "CreateOptions", "group": "meta.k8s.io", "causes": [
        {"reason": "FieldValueNotSupported", "field": "dryRun",
         "message": 'Unsupported value: ["Bogus"]: supported values: "All"'}]}
    assert request(apiserver, "GET", f"{PODS}/wo")[0] == 404, "nothing was created"
    assert request(apiserver, "POST", PODS, POD)[0] == 201
    for method, path, body, kind in (
            ("PUT", f"{PODS}/wo", POD, "UpdateOptions"),
            ("PUT", f"{PODS}/wo/status", POD, "UpdateOptions"),
            ("PATCH", f"{PODS}/wo", {"metadata": {"labels": {"a": "b"}}}, "PatchOptions"),
            ("DELETE", f"{PODS}/wo", None, "DeleteOptions"),
            ("DELETE", PODS, None, "DeleteOptions"),
            ("POST", f"{PODS}/wo/eviction", {"apiVersion": "policy/v1", "kind": "Eviction",
                                            "metadata": {"name": "wo"}}, "CreateOptions")):
        code, answer = request(apiserver, method, f"{path}?dryRun=Bogus", body,
                               "application/merge-patch+json" if method == "PATCH"
                               else "application/json")
        assert (code, answer["message"]) == (422, _invalid(kind, DRY_RUN)), (method, path)
    assert request(apiserver, "GET", f"{PODS}/wo")[1]["metadata"].get("labels") is None
    for query, shown in (("dryRun=All&dryRun=Bogus", '["All","Bogus"]'), ("dryRun=", '[""]')):
        code, answer = request(apiserver, "DELETE", f"{PODS}/wo?{query}")
        assert (code, answer["message"]) == (422, _invalid(
            "DeleteOptions", f'dryRun: Unsupported value: {shown}: supported values: "All"'))
    assert request(apiserver, "GET", f"{PODS}/wo")[0] == 200


def test_apply_needs_a_field_manager(apiserver: RunningApiServer) -> None:
    code, answer = request(apiserver, "PATCH", f"{PODS}/applied?force=true",
                           {**POD, "metadata": {"name": "applied"}},
                           "application/apply-patch+yaml")
    assert (code, answer["message"]) == (422, _invalid(
        "PatchOptions", "fieldManager: Required value: is required for apply patch"))
    result = apiserver.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(
        {**POD, "metadata": {"name": "applied"}}))
    assert "pod/applied serverside-applied" in result.stdout


def test_eviction_delete_options_are_checked_as_a_delete(apiserver: RunningApiServer) -> None:
    """The eviction's deleteOptions reach the store's BeforeDelete (ValidateDeleteOptions) when
    the pod is deleted; a dryRun differing from the request's is propagateDryRun's plain
    error (a 500 without a reason)."""
    assert request(apiserver, "POST", PODS, {**POD, "metadata": {"name": "ev"}})[0] == 201
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "ev"}}
    code, answer = request(apiserver, "POST", f"{PODS}/ev/eviction", {
        **eviction, "deleteOptions": {"propagationPolicy": "Sometimes"}})
    assert (code, answer["message"]) == (422, _invalid(
        "DeleteOptions", 'propagationPolicy: Unsupported value: "Sometimes": supported values: '
        '"Foreground", "Background", "Orphan", "nil"'))
    code, answer = request(apiserver, "POST", f"{PODS}/ev/eviction", {
        **eviction, "deleteOptions": {"dryRun": ["Bogus"]}})
    assert (code, answer["message"]) == (422, _invalid("DeleteOptions", DRY_RUN))
    code, answer = request(apiserver, "POST", f"{PODS}/ev/eviction?dryRun=All", {
        **eviction, "deleteOptions": {"dryRun": ["All", "All"]}})
    assert (code, answer.get("reason"), answer["message"]) == (
        500, None, "Non-matching dry-run options in request and content: [All] and [All All]")
    assert request(apiserver, "GET", f"{PODS}/ev")[0] == 200, "the pod is still there"
    assert request(apiserver, "POST", f"{PODS}/ev/eviction", eviction)[0] == 201
