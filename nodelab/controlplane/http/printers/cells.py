"""What every printer's row starts or ends with: the object's name and its age."""

from __future__ import annotations

from nodelab.kube.objects import Object
from nodelab.kubewire.times import age


def object_name(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def object_age(obj: Object) -> str:
    return age((obj.get("metadata") or {}).get("creationTimestamp"))
