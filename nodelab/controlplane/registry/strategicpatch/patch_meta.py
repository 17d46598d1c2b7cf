"""Where the merge semantics come from: a field's patch strategy and merge key, read from
upstream's schema (`nodelab.kube.schema`) as `LookupPatchMetadataForStruct` / `ForSlice` do,
never guessed from field names.
"""

from __future__ import annotations

from nodelab.controlplane.registry.strategicpatch.directives import failed
from nodelab.kube.schema import Node


def child_schema(schema: Node | None, key: str) -> Node | None:
    """The schema of `key` in a map (a field, or the values of a free-form map)."""
    if schema is None:
        return None
    found = schema.field(key)
    if found is None and schema.is_map:
        return schema.values
    return found


def patch_strategy(node: Node | None) -> tuple[bool, str]:
    """(retainKeys?, the other strategy) of a field, as `extractRetainKeysPatchStrategy`."""
    strategies = node.patch_strategies if node is not None else ()
    if len(strategies) > 2 or (len(strategies) == 2 and "retainKeys" not in strategies):
        raise failed(f"unexpected patch strategy: {list(strategies)}")
    retain = "retainKeys" in strategies
    others = [s for s in strategies if s != "retainKeys"]
    return retain, others[0] if others else ""


def patch_merge_key(node: Node | None) -> str:
    """The `x-kubernetes-patch-merge-key` of a list field ("" when it has none)."""
    return node.patch_merge_key if node is not None else ""

