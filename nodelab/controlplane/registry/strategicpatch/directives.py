"""The strategic merge patch's directives and errors (upstream's `patch.go` constants and
`interpretStrategicMergePatchError`).

`$patch` (`replace`, `delete`, `merge`), `$deleteFromPrimitiveList/<field>`,
`$setElementOrder/<field>` and `$retainKeys`, what a patch's values look like once their
directives are taken out, and the `PatchError`s a malformed patch gets: 400 for a malformed
directive, 422 for lists of lists, 500 for the rest.
"""

from __future__ import annotations

from typing import Any

from nodelab.controlplane.errors import ApiError

DIRECTIVE = "$patch"


DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"


SET_ELEMENT_ORDER = "$setElementOrder"


RETAIN_KEYS = "$retainKeys"


BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"


BAD_RETAIN_KEYS = "invalid patch format of retainKeys"


BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


class PatchError(ApiError):
    pass


def bad_request(message: str) -> PatchError:
    """A 400 for a malformed directive."""
    return PatchError(400, "BadRequest", message)


def failed(message: str) -> PatchError:
    """A merge kube-apiserver cannot do: `interpretStrategicMergePatchError` passes the plain
    Go error on, which `ErrorToAPIStatus` answers as a 500 with the message and no reason."""
    return PatchError(500, "", message)


def kind_of(value: Any) -> str:
    """The JSON kind of a value, named as Go's errors name it (map, slice, ...)."""
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "slice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def strip_prefix(key: str, prefix: str, error: str) -> str:
    """The field of a `<directive>/<field>` key; a 400 (`error`) when it has none."""
    parts = key.split("/", 1)
    if len(parts) < 2 or parts[0] != prefix:
        raise bad_request(error)
    return parts[1]


def apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys`: drop the original's keys the list does not name."""
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in retain:
            raise bad_request(BAD_RETAIN_KEYS)
    for key in list(original):
        if key not in retain:
            del original[key]


def discard_nulls(value: Any) -> None:
    """Remove `null` values, recursively (IgnoreUnmatchedNulls for a new value)."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for child in value.values():
            discard_nulls(child)
    elif isinstance(value, list):
        for child in value:
            discard_nulls(child)


def remove_directives(value: Any) -> tuple[Any, bool]:
    """The value without its directives, and whether anything is left of it."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        result = []
        for item in value:
            kept, keep = remove_directives(item)
            if keep:
                result.append(kept)
        return result, True
    return value, True


def is_delete(value: Any) -> bool:
    """Whether a list item is a `{"$patch": "delete", ...}` directive."""
    return isinstance(value, dict) and value.get(DIRECTIVE) == "delete"

