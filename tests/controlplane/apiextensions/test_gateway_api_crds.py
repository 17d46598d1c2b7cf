"""The Gateway API's standard CRDs (kubernetes-sigs/gateway-api v1.6.1,
config/crd/standard/*.yaml as released, gzipped in tests/controlplane/data/gateway-api): each
is a valid CRD for nodelab, its CEL rules compiled and within upstream's estimated cost limits,
as a real cluster installs them."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodelab.controlplane.apiextensions import definitions

pytestmark = pytest.mark.unit
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 0.3 s instead of 7 s
BUNDLE = (Path(__file__).parents[1] / "data" / "gateway-api"
          / "standard-install-v1.6.1.yaml.gz")


def _crds() -> list[dict[str, Any]]:
    with gzip.open(BUNDLE, "rt", encoding="utf-8") as stream:
        return [doc for doc in yaml.load_all(stream, Loader=LOADER)
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"]


CRDS = _crds()


def test_the_bundle_holds_the_standard_channel() -> None:
    names = {crd["metadata"]["name"].split(".")[0] for crd in CRDS}
    assert {"gatewayclasses", "gateways", "httproutes", "grpcroutes",
            "referencegrants"} <= names


@pytest.mark.parametrize("crd", CRDS, ids=[crd["metadata"]["name"] for crd in CRDS])
def test_each_crd_is_accepted(crd: dict[str, Any]) -> None:
    definitions.apply_defaults(crd)
    assert [(c.field, c.message[:200]) for c in definitions.validate(crd).causes] == []
