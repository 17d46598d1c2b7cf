"""A running lab's registry: anyone pulls, only nodelab (with the lab's credentials) pushes,
nobody deletes; a refused write leaves the registry's storage as it was."""

from __future__ import annotations

import stat
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from nodelab.lab.lab import Lab
from nodelab.lab.paths import LabPaths
from nodelab.lab.registry.credentials import HTPASSWD, PASSWORD, USERNAME, ensure_push_credentials
from nodelab.lab.registry.demo_images import busybox_layer
from nodelab.oci.distribution import RegistryClient, RegistryError
from nodelab.oci.image import Entry, ImageConfig, Layer, build_image
from nodelab.oci.push import push_image
from tests.lab.kube import kubectl

from .victim import FIGURE, changes, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

HOSTILE = build_image([Layer.from_entries([Entry.file("planted", b"not yours")],
                                          comment="hostile")], ImageConfig(cmd=("sh",)))


def _status(url: str, method: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _refused_push(address: str, username: str | None = None,
                  password: str | None = None) -> Callable[[], str]:
    def attempt() -> str:
        client = RegistryClient(address, scheme="http", username=username, password=password)
        try:
            push_image(client, "web", "1.0", HOSTILE)  # over the demo image pods run
        except RegistryError as exc:
            return str(exc)
        return "pushed"
    return attempt


def test_writes_without_the_lab_credentials_are_refused_and_change_nothing(lab: Lab) -> None:
    pulls, pushes = lab.topology.registry, lab.topology.registry_push
    digest = RegistryClient(pulls, scheme="http").get_manifest("web", "1.0").digest
    manifest = f"/v2/web/manifests/{digest}"
    attempts: list[tuple[str, Callable[[], str], str]] = [
        ("an anonymous push to the pull address", _refused_push(pulls), "405"),
        ("an anonymous push to the push address", _refused_push(pushes), "401"),
        ("a push with a wrong password", _refused_push(pushes, USERNAME, "guess"), "401"),
        ("a push with the right password to the pull address",
         _refused_push(pulls, USERNAME, "guess"), "405"),
        ("an anonymous DELETE of a manifest (pull address)",
         lambda: str(_status(f"http://{pulls}{manifest}", "DELETE")), "405"),
        ("an anonymous DELETE of a manifest (push address)",
         lambda: str(_status(f"http://{pushes}{manifest}", "DELETE")), "401"),
        ("an anonymous upload start (push address)",
         lambda: str(_status(f"http://{pushes}/v2/web/blobs/uploads/", "POST")), "401"),
    ]
    storage = LabPaths.for_lab(lab.name).registry / "data"
    outcomes = []
    for what, attempt, code in attempts:
        before = snapshot(storage)
        outcome = attempt()
        changed = [f"{what}: {line}" for line in changes(before, snapshot(storage))]
        FIGURE.record("lab registry writes", changed)
        outcomes.append((what, code in outcome, changed))
    assert [o for o in outcomes if not o[1] or o[2]] == [], outcomes
    assert RegistryClient(pulls, scheme="http").get_manifest("web", "1.0").digest == digest


def test_nodelab_pushes_with_the_lab_credentials_and_pods_pull_anonymously(lab: Lab) -> None:
    directory = LabPaths.for_lab(lab.name).registry
    for name in (PASSWORD, HTPASSWD):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    credentials = ensure_push_credentials(directory)
    base = busybox_layer()
    note = Layer.from_entries([Entry.file("note", b"pushed by nodelab")], comment="note")
    image = build_image([base.layer, note], ImageConfig(cmd=("sleep", "3600"), env=base.env))
    push_image(RegistryClient(lab.topology.registry_push, scheme="http",
                              username=credentials.username, password=credentials.password),
               "pushed", "1.0", image)
    pulled = RegistryClient(lab.topology.registry, scheme="http").get_manifest("pushed", "1.0")
    assert pulled.digest == image.digest
    kubectl(lab, "run", "pulls", f"--image={lab.topology.registry}/pushed:1.0")
    kubectl(lab, "wait", "--for=condition=Ready", "pod/pulls", "--timeout=90s")
    assert kubectl(lab, "exec", "pulls", "--", "cat", "/note").strip() == "pushed by nodelab"
