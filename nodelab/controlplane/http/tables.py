"""Server-side printing: `meta.k8s.io/v1` Table objects, the columns `kubectl get` shows.

kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints whatever columns the
server sends; priority-1 columns appear only with `-o wide`. The columns and cells are the
printers' (printers.py); a custom resource's are its CRD version's
`additionalPrinterColumns` (`apiextensions/columns.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.controlplane.apiextensions import columns
from nodelab.controlplane.http.printers import DEFAULT_PRINTER, PRINTERS
from nodelab.controlplane.resources import ResourceType
from nodelab.kube.objects import Object


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _printer(rt: ResourceType) -> tuple[list[Object], Callable[[Object], list[Any]]]:
    if rt.custom is not None:
        version = rt.custom.served_version
        return columns.definitions(version), lambda obj: columns.row(version, obj)
    kinds, row = PRINTERS.get(rt.storage_key, DEFAULT_PRINTER)
    return [{"name": name, "type": kind, "format": "name" if name == "Name" else "",
             "description": name, "priority": priority}
            for name, kind, priority in kinds], row


def table(rt: ResourceType, items: list[Object], resource_version: str,
          include: str = "Metadata", continue_token: str = "") -> Object:
    definitions, row = _printer(rt)
    rows = []
    for obj in items:
        if include == "Object":
            embedded = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj.get("metadata") or {}}
        entry: Object = {"cells": row(obj)}
        if embedded is not None:
            entry["object"] = embedded
        rows.append(entry)
    meta: Object = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": definitions, "rows": rows}
