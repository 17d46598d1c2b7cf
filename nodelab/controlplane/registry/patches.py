"""JSON patch and JSON merge patch, as pure functions of (object, patch) -> object.

- `application/json-patch+json`: RFC 6902 operations (add, remove, replace, move, copy,
  test), applied by the `jsonpatch` library. A malformed patch is a 400 (upstream's
  `DecodePatch`); one that does not apply (a missing path, a failed `test`) is a 422 whose
  cause says why, as kube-apiserver answers (`NewGenericServerResponse(422, ...)`).
- `application/merge-patch+json`: RFC 7386; maps merge, `null` deletes, anything else
  (lists included) replaces.

Strategic merge patches are `strategicpatch/`, server-side apply `apply.py`: both read the
object's schema; these two formats do not.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from nodelab.controlplane.errors import ApiError, bad_request

Json = Any


def not_applicable(why: str) -> ApiError:
    """A patch that cannot be applied to this object (422, as upstream)."""
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our "
                    f"request: {why}",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": why}]})


def json_patch(doc: Json, operations: Json) -> Json:
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise bad_request("invalid JSON patch: a JSON patch is a list of operations")
    for op in operations:
        for key in ("path", "from"):
            pointer = op.get(key, "")
            if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
                raise bad_request(f"invalid JSON patch: {key} {pointer!r} is not a JSON pointer")
    try:
        return jsonpatch.JsonPatch(operations).apply(copy.deepcopy(doc))
    except jsonpatch.InvalidJsonPatch as exc:
        raise bad_request(f"invalid JSON patch: {exc}") from exc
    except jsonpatch.JsonPatchTestFailed as exc:
        raise not_applicable(f"test operation failed: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException,
            IndexError, KeyError, TypeError) as exc:
        raise not_applicable(f"the JSON patch does not apply: {exc}") from exc


def merge_patch(doc: Json, patch: Json) -> Json:
    """RFC 7386 `MergePatch(target, patch)`."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
