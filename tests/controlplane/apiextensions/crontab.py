"""The Kubernetes docs' CronTab CustomResourceDefinition ("Extend the Kubernetes API with
CustomResourceDefinitions"), as the tests here use it."""

from __future__ import annotations

import copy
from typing import Any

CRONTAB_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.stable.example.com"},
    "spec": {
        "group": "stable.example.com",
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {
                    "cronSpec": {"type": "string"},
                    "image": {"type": "string"},
                    "replicas": {"type": "integer"}}}}}}}],
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab",
                  "shortNames": ["ct"]},
    },
}


def crontab_crd(**spec: Any) -> dict[str, Any]:
    """The docs' CRD with `spec` keys replaced."""
    crd = copy.deepcopy(CRONTAB_CRD)
    crd["spec"].update(spec)
    return crd
