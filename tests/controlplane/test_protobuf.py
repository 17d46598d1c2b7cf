"""kubectl's typed commands send protobuf bodies and ask for protobuf answers: each body must
arrive as the object it meant, and each answer must come back as the object stored.

For every generator, the object kubectl would send (`--dry-run=client -o json`) must be found,
field for field, in what the server made of the protobuf body and answered in protobuf
(`--dry-run=server -o json`, which kubectl decodes from that answer).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.controlplane.apiserver import RunningApiServer

COMMANDS = [
    ["create", "namespace", "nl-pb"],
    ["create", "configmap", "pb-cm", "--from-literal=a=b", "--from-literal=c=d"],
    ["create", "secret", "generic", "pb-s", "--from-literal=a=b", "--type=example.com/x"],
    ["create", "deployment", "pb-d", "--image=busybox:1.36", "--port=80", "--replicas=3",
     "--", "sleep", "10"],
    ["create", "deployment", "pb-z", "--image=busybox", "--replicas=0"],
    ["create", "service", "clusterip", "pb-c", "--tcp=80:8080", "--tcp=443:8443"],
    ["create", "service", "nodeport", "pb-n", "--tcp=80:http", "--node-port=30080"],
    ["create", "service", "externalname", "pb-e", "--external-name=example.com"],
    ["create", "serviceaccount", "pb-sa"],
    ["create", "poddisruptionbudget", "pb-pdb", "--selector=app=web", "--min-available=50%"],
    ["create", "pdb", "pb-pdb2", "--selector=app in (web,db)", "--max-unavailable=1"],
    ["create", "quota", "pb-q", "--hard=pods=2,limits.memory=1Gi,count/deployments.apps=1",
     "--scopes=NotBestEffort"],
    ["create", "ingress", "pb-ing", "--class=nginx", "--rule=foo.com/bar*=svc1:8080,tls=cert",
     "--default-backend=web:http", "--annotation=a=b"],
]


def response_types(verbose: str) -> list[str]:
    """The Content-Type of every response `kubectl -v=8` logged."""
    return re.findall(r'"Response" status="[^"]*" headers=<\n(?:\t[^\n]*\n)*?'
                      r'\tContent-Type: ([^\n]*)\n', verbose)


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if v not in (None, {}, [], "") and k not in ("creationTimestamp", "status")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _contained(wanted: Any, got: Any, path: str = "") -> list[str]:
    if isinstance(wanted, dict):
        if not isinstance(got, dict):
            return [f"{path}: {got!r}"]
        return [m for k, v in wanted.items()
                for m in (_contained(v, got[k], f"{path}.{k}") if k in got
                          else [f"{path}.{k} missing"])]
    if isinstance(wanted, list):
        if not isinstance(got, list) or len(got) < len(wanted):
            return [f"{path}: {got!r}"]
        return [m for i, v in enumerate(wanted) for m in _contained(v, got[i], f"{path}[{i}]")]
    return [] if wanted == got else [f"{path}: {wanted!r} != {got!r}"]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:3]) for c in COMMANDS])
def test_protobuf_body_decodes_to_the_same_object(apiserver: RunningApiServer,
                                                  command: list[str]) -> None:
    split = command.index("--") if "--" in command else len(command)
    head, tail = command[:split], command[split:]
    client = json.loads(apiserver.kubectl(*head, "--dry-run=client", "-o", "json", *tail).stdout)
    verbose = apiserver.kubectl(*head, "--dry-run=server", "-o", "json", "-v=8", *tail)
    assert "application/vnd.kubernetes.protobuf" in verbose.stderr, "kubectl sent protobuf"
    assert response_types(verbose.stderr)[-1] == "application/vnd.kubernetes.protobuf"
    server = json.loads(verbose.stdout)
    assert _contained(_strip(client), server) == []


def test_create_token_and_auth_can_i_use_protobuf(apiserver: RunningApiServer) -> None:
    made = apiserver.kubectl("create", "token", "default", "--duration=30m",
                             "--audience=nodelab", "-v=8")
    assert made.stdout.strip().count(".") == 2
    assert response_types(made.stderr)[-1] == "application/vnd.kubernetes.protobuf"
    asked = apiserver.kubectl("auth", "can-i", "list", "pods", "-v=8")
    assert asked.stdout.strip() == "yes"
    assert response_types(asked.stderr)[-1] == "application/vnd.kubernetes.protobuf"


def test_a_protobuf_answer_carries_what_a_json_answer_does(apiserver: RunningApiServer) -> None:
    """The same object read by kubectl's typed client (protobuf, `kubectl create` answering
    with what it stored) and as JSON: every field equal (managed fields and times too)."""
    made = apiserver.kubectl("create", "deployment", "pb-same", "--image=busybox",
                             "--replicas=2", "-o", "json", "--show-managed-fields", "-v=8")
    assert response_types(made.stderr)[-1] == "application/vnd.kubernetes.protobuf"
    answered = json.loads(made.stdout)
    stored = apiserver.kubectl_json("get", "deployment", "pb-same", "--show-managed-fields")
    assert answered["metadata"]["managedFields"] == stored["metadata"]["managedFields"]
    assert answered["spec"] == stored["spec"]
    assert answered["metadata"]["uid"] == stored["metadata"]["uid"]
    refused = apiserver.kubectl("create", "deployment", "pb-same", "--image=busybox", "-v=8",
                                check=False)
    assert response_types(refused.stderr)[-1] == "application/vnd.kubernetes.protobuf"
    assert ('error: failed to create deployment: deployments.apps "pb-same" already exists'
            in refused.stderr)  # read from the protobuf Status
