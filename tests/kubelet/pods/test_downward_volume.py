"""downwardAPI volume items on a real filesystem (no privileges): `fieldRef` and
`resourceFieldRef` files, as the docs' dapi-volume-resources example expects (issue #18:
resourceFieldRef items were silently left out of the volume)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nodelab.kubelet.pods.volumes.pod_volumes import VolumeError, VolumeSources, prepare_volumes

pytestmark = pytest.mark.unit

ALLOCATABLE = {"cpu": 2000, "memory": 4 << 30, "ephemeral-storage": 10 << 30}


def pod_with(items: list[dict[str, Any]], projected: bool = False) -> dict[str, Any]:
    source = ({"projected": {"sources": [{"downwardAPI": {"items": items}}]}} if projected
              else {"downwardAPI": {"items": items}})
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1",
                         "labels": {"zone": "us-est-coast", "rack": "rack-22"}},
            "spec": {"volumes": [{"name": "podinfo", **source}],
                     "containers": [{"name": "client-container", "resources": {
                         "requests": {"memory": "32Mi", "cpu": "125m"},
                         "limits": {"memory": "64Mi", "cpu": "250m"}}},
                                    {"name": "unlimited"}]}}


def written(tmp_path: Path, items: list[dict[str, Any]], projected: bool = False) -> str:
    sources = VolumeSources(fetch=lambda *a: None, allocatable=ALLOCATABLE)
    paths = prepare_volumes(pod_with(items, projected), tmp_path, sources)
    return (paths["podinfo"] / str(items[0]["path"])).read_text()


@pytest.mark.parametrize(("container", "resource", "divisor", "expected"), [
    ("client-container", "limits.cpu", "1m", "250"),
    ("client-container", "requests.cpu", "1m", "125"),
    ("client-container", "limits.cpu", None, "1"),  # rounded up, as upstream
    ("client-container", "limits.memory", "1Mi", "64"),
    ("client-container", "requests.memory", "1Mi", "32"),
    ("client-container", "requests.memory", None, str(32 << 20)),
    ("unlimited", "limits.memory", "1Mi", str(4 << 10)),  # the node's allocatable
    ("unlimited", "limits.cpu", "1m", "2000"),
    ("unlimited", "requests.cpu", "1m", "0"),
])
@pytest.mark.parametrize("projected", [False, True])
def test_resource_field_ref_items(tmp_path: Path, container: str, resource: str,
                                  divisor: str | None, expected: str, projected: bool) -> None:
    ref = {"containerName": container, "resource": resource}
    item = {"path": "value", "resourceFieldRef": ref | ({"divisor": divisor} if divisor else {})}
    assert written(tmp_path, [item], projected) == expected


def test_field_ref_items_beside_resource_items(tmp_path: Path) -> None:
    items = [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
             {"path": "mem", "resourceFieldRef": {"containerName": "client-container",
                                                  "resource": "limits.memory",
                                                  "divisor": "1Mi"}}]
    assert written(tmp_path, items) == 'rack="rack-22"\nzone="us-est-coast"'
    assert (tmp_path / "pods/u1/volumes/downwardAPI/podinfo/mem").read_text() == "64"


@pytest.mark.parametrize(("ref", "message"), [
    ({"containerName": "nope", "resource": "limits.cpu"}, "container nope not found"),
    ({"containerName": "client-container", "resource": "limits.gpu"},
     "unsupported container resource : limits.gpu"),
])
def test_a_bad_resource_item_fails_the_volume_naming_it(tmp_path: Path, ref: dict[str, str],
                                                       message: str) -> None:
    with pytest.raises(VolumeError, match=message):
        written(tmp_path, [{"path": "x", "resourceFieldRef": ref}])
