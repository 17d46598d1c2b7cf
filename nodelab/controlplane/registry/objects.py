"""Object metadata mechanics every resource shares (upstream: `rest.BeforeCreate/BeforeUpdate`).

On create the server owns `uid`, `creationTimestamp`, `resourceVersion`, `generation` and turns
`generateName` into a name; on update it keeps those from the stored object whatever the
client sent, and bumps `generation` when the spec (or anything but metadata and status, for
kinds without a spec) changed. Timestamps are RFC 3339 in UTC with second precision, as
`metav1.Time` serialises them.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

from nodelab.kube.objects import Object
from nodelab.kubewire.times import now

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # upstream's utilrand alphabet (no vowels)


def random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_uid() -> str:
    return str(uuid.uuid4())


def is_lower_alnum(text: str) -> bool:
    return bool(text) and all(c in string.ascii_lowercase + string.digits for c in text)


def prepare_for_create(obj: Object, namespace: str) -> None:
    meta = obj.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = str(meta["generateName"]) + random_suffix()
    if namespace:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now()
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    meta.pop("resourceVersion", None)
    meta.pop("selfLink", None)
    if "spec" in obj or meta.get("generation") is not None:
        meta["generation"] = 1
    for key in ("labels", "annotations"):
        if meta.get(key) == {}:
            del meta[key]


def prepare_for_update(new: Object, old: Object) -> None:
    """Keep server-owned metadata from `old`; bump generation when the spec changed."""
    meta, old_meta = new.setdefault("metadata", {}), old.get("metadata", {})
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "namespace", "name"):
        if key in old_meta:
            meta[key] = old_meta[key]
        else:
            meta.pop(key, None)
    meta.pop("selfLink", None)
    if "generation" in old_meta:
        changed = _generation_relevant(new) != _generation_relevant(old)
        meta["generation"] = int(old_meta["generation"]) + (1 if changed else 0)
    for key in ("labels", "annotations"):
        if meta.get(key) == {}:
            del meta[key]


def _generation_relevant(obj: Object) -> Any:
    if "spec" in obj:
        return obj["spec"]
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}
