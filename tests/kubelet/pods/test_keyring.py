"""Pull credentials from image pull secrets (pods/images/keyring.py), against upstream's
credentialprovider cases (keyring_test.go TestURLsMatch, TestDockerKeyringLookup...)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from nodelab.kubelet.pods.images.keyring import (
    AuthConfig,
    Keyring,
    docker_config,
    pod_pull_credentials,
    pull_credentials,
    urls_match,
)
from nodelab.runtime.images.pull import is_insecure

pytestmark = pytest.mark.unit


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(config: dict[str, Any], kind: str = "dockerconfigjson") -> dict[str, Any]:
    key = ".dockerconfigjson" if kind == "dockerconfigjson" else ".dockercfg"
    return {"type": f"kubernetes.io/{kind}", "data": {key: b64(json.dumps(config))}}


@pytest.mark.parametrize(("glob", "target", "matches"), [
    ("*.kubernetes.io", "prefix.kubernetes.io", True),
    ("prefix.*.io", "prefix.kubernetes.io", True),
    ("prefix.kubernetes.*", "prefix.kubernetes.io", True),
    ("*-good.kubernetes.io", "prefix-good.kubernetes.io", True),
    ("*.kubernetes.io", "kubernetes.io", False),  # host part counts differ
    ("*.*.kubernetes.io", "prefix.kubernetes.io", False),
    ("kubernetes.io", "kubernetes.io/foo", True),  # the key's path prefixes the image's
    ("kubernetes.io/foo", "kubernetes.io", False),
    ("kubernetes.io:5000", "kubernetes.io", False),  # ports must be equal
    ("kubernetes.io:5000", "kubernetes.io:5000/img", True),
])
def test_urls_match(glob: str, target: str, matches: bool) -> None:
    assert urls_match(glob, target) is matches


def test_config_entries_and_the_auth_blob() -> None:
    config = docker_config(secret({"auths": {
        "https://registry.example:5000/v2/": {"auth": b64("pupil:s3cret")},
        "other.example": {"username": "u", "password": "p", "auth": b64("a:b:c")}}}))
    assert config == {"https://registry.example:5000/v2/": AuthConfig("pupil", "s3cret"),
                      "other.example": AuthConfig("a", "b:c")}  # `auth` wins, split once
    legacy = docker_config(secret({"old.example": {"auth": b64("x:y")}}, "dockercfg"))
    assert legacy == {"old.example": AuthConfig("x", "y")}
    assert docker_config({"data": {"token": b64("nope")}}) == {}
    assert docker_config({"data": {".dockerconfigjson": "not base64!"}}) == {}


def test_the_most_specific_key_first() -> None:
    ring = Keyring([{"quay.io": AuthConfig("wide", ""),
                     "quay.io/coreos": AuthConfig("narrow", ""),
                     "https://index.docker.io/v1/": AuthConfig("hub", "")}])
    assert [a.username for a in ring.lookup("quay.io/coreos/etcd")] == ["narrow", "wide"]
    assert [a.username for a in ring.lookup("quay.io/other/x")] == ["wide"]
    assert [a.username for a in ring.lookup("docker.io/library/busybox")] == ["hub"]
    assert ring.lookup("gcr.io/x") == []


def test_pull_credentials_for_an_image() -> None:
    secrets = [secret({"auths": {"172.29.1.1:5001": {"auth": b64("pupil:s3cret")}}})]
    assert pull_credentials("172.29.1.1:5001/busybox:1.36", secrets) == [
        AuthConfig("pupil", "s3cret")]
    assert pull_credentials("172.29.1.1:5000/busybox:1.36", secrets) == []
    pod = {"metadata": {"namespace": "ns"},
           "spec": {"imagePullSecrets": [{"name": "regcred"}, {"name": "gone"}]}}
    found, missing = pod_pull_credentials(
        pod, "172.29.1.1:5001/busybox", lambda kind, ns, name:
        secrets[0] if (kind, ns, name) == ("secrets", "ns", "regcred") else None)
    assert (found, missing) == ([AuthConfig("pupil", "s3cret")], ["gone"])


@pytest.mark.parametrize(("registry", "insecure", "expected"), [
    ("172.29.1.1:5000", ["172.29.1.1:5000"], True),
    ("172.29.1.1:5001", ["172.29.1.1:5000"], False),
    ("172.29.1.1:5001", ["172.29.1.1:5000", "172.29.1.1/32"], True),  # a CIDR: every port
    ("172.29.1.2:5001", ["172.29.1.1/32"], False),
    ("registry.example:5001", ["172.29.1.1/32", "bad/cidr"], False),
    ("localhost:5000", [], True),
])
def test_insecure_registries(registry: str, insecure: list[str], expected: bool) -> None:
    assert is_insecure(registry, insecure) is expected
