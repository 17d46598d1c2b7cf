"""Strategic merge patch (`application/strategic-merge-patch+json`), applied as kube-apiserver
applies it: upstream's `strategicpatch.StrategicMergeMapPatch` (k8s.io/apimachinery
pkg/util/strategicpatch/patch.go, `mergeMap` with `MergeParallelList` and
`IgnoreUnmatchedNulls`), with the merge semantics read from upstream's schema
(`nodelab.kube.schema`), never guessed from field names.

Like a JSON merge patch (maps merge, `null` deletes), except where the schema says otherwise:

- a list with `x-kubernetes-patch-strategy: merge` merges element by element: maps by their
  `x-kubernetes-patch-merge-key` (containers by `name`, container ports by `containerPort`),
  primitives as a set (finalizers); every other list (taints, tolerations, args) is replaced;
- `replace` on a map field replaces it whole; `retainKeys` (volumes, the deployment strategy)
  lets the patch's `$retainKeys` list clear the keys it does not name;
- the directives kubectl sends: `$patch: replace|delete` on a map, `{"$patch": "delete",
  <key>: v}` and `{"$patch": "replace"}` in a list, `$deleteFromPrimitiveList/<field>`,
  `$setElementOrder/<field>` (the order of the merged list) and `$retainKeys`.

Errors are `PatchError`s with the status code kube-apiserver answers (400 for a malformed
directive, 422 for lists of lists, 500 for the rest, as `interpretStrategicMergePatchError`).
Upstream's own test cases run against this package (tests/controlplane/test_strategicpatch_
upstream.py).

The package, by idea: `directives.py` (the `$patch`-style directives and the errors),
`patch_meta.py` (patch strategy and merge key from the schema), `merge.py` (the merge of maps
and lists), `order.py` (the order of a merged list).
"""

from nodelab.controlplane.registry.strategicpatch.directives import PatchError
from nodelab.controlplane.registry.strategicpatch.merge import apply

__all__ = ["PatchError", "apply"]
