"""The VolumeBinding plugin (upstream's pkg/scheduler/framework/plugins/volumebinding) as data.

PreFilter (`prefilter`): a pod's `persistentVolumeClaim` volumes must name claims that exist
(`persistentvolumeclaim "c" not found`), are not being deleted (`... is being deleted`) and
not Lost (`... bound to non-existent persistentvolume "v"`); an unbound claim whose class binds
`Immediate`ly keeps the pod out ("pod has unbound immediate PersistentVolumeClaims") until the
PersistentVolume controller binds it. Each of these is UnschedulableAndUnresolvable: the
FailedScheduling text is `0/N nodes are available: <reason>.` and preemption is not helpful.

Filter (`filter_node`): a bound claim's volume must allow the node (its `nodeAffinity`:
"node(s) had volume node affinity conflict"); an unbound claim of a WaitForFirstConsumer class
needs a volume that fits it on that node (`kube/persistent_volumes.best_match` among the
volumes whose node affinity the node meets) or a provisioner nodelab runs for the class
("node(s) didn't find available persistent volumes to bind").

PreBind (`volume_bindings`): for the chosen node, what to write before the pod is bound: each
late-binding claim's volume gets the claim in its `claimRef` (the PersistentVolume controller
finishes the binding), or, for a provisioner, the claim gets
`volume.kubernetes.io/selected-node`. The loop binds the pod once its claims are bound.
A volume's patch carries the resourceVersion the scheduler read, so a volume the PersistentVolume
controller changed meanwhile is a 409 Conflict, not an overwrite of its claimRef (upstream
updates the assumed PersistentVolume object). What PreBind wrote is assumed (`assume`, upstream's
AssumePodVolumes on its assume cache) for the rest of the pass: a volume chosen for one pod is
not offered to the next, whether or not the write's answer has reached the cache yet.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from nodelab.kube.objects import Object, ObjectView
from nodelab.kube.persistent_volumes import (
    BOUND_BY_CONTROLLER,
    SELECTED_NODE,
    access_modes_fit,
    best_match,
    claim_class,
    claim_ref,
)
from nodelab.kube.scheduling.predicates import term_matches

ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
ERR_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"


@dataclass(frozen=True)
class Volumes:
    """The claims (by namespace and name), volumes and classes (by name) the plugin reads,
    and the provisioners nodelab runs."""

    claims: Mapping[tuple[str, str], ObjectView] = field(default_factory=dict)
    volumes: Mapping[str, ObjectView] = field(default_factory=dict)
    classes: Mapping[str, ObjectView] = field(default_factory=dict)
    provisioners: frozenset[str] = frozenset()


def claim_names(pod: ObjectView) -> list[str]:
    return [str((v.get("persistentVolumeClaim") or {}).get("claimName") or "")
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, Mapping) and v.get("persistentVolumeClaim")]


def _late(claim: ObjectView, state: Volumes) -> bool:
    storage_class = state.classes.get(claim_class(claim))
    return storage_class is not None and \
        storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"


def _claims(pod: ObjectView, state: Volumes) -> list[ObjectView]:
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    return [c for name in claim_names(pod) if (c := state.claims.get((namespace, name)))]


def prefilter(pod: ObjectView, state: Volumes) -> str:
    """The PreFilter's reason ("" when the pod may go on to the filters)."""
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    immediate = False
    for name in claim_names(pod):
        claim = state.claims.get((namespace, name))
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if (claim.get("status") or {}).get("phase") == "Lost":
            return (f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume '
                    f'"{(claim.get("spec") or {}).get("volumeName", "")}"')
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        if not (claim.get("spec") or {}).get("volumeName") and not _late(claim, state):
            immediate = True
    return ERR_UNBOUND_IMMEDIATE if immediate else ""


def volume_fits_node(volume: ObjectView, node: ObjectView) -> bool:
    """CheckNodeAffinity: the volume's required node terms (any of them) match the node."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    name = str((node.get("metadata") or {}).get("name") or "")
    return any(term_matches(term, labels, name) for term in
               required.get("nodeSelectorTerms") or [])


def _volume_for(claim: ObjectView, node: ObjectView, state: Volumes,
                taken: Sequence[str] = ()) -> ObjectView | None:
    """FindMatchingVolume with a node (the scheduler's path): node affinity and access modes
    checked, volumes chosen for the pod's other claims left out."""
    candidates = [v for name, v in state.volumes.items() if name not in taken
                  and volume_fits_node(v, node) and access_modes_fit(claim, v)]
    return best_match(claim, candidates)


def _provisioned(claim: ObjectView, state: Volumes) -> bool:
    storage_class = state.classes.get(claim_class(claim))
    return storage_class is not None and storage_class.get("provisioner") in state.provisioners


def filter_node(pod: ObjectView, node: ObjectView, state: Volumes) -> list[str]:
    taken: list[str] = []
    for claim in _claims(pod, state):
        bound = (claim.get("spec") or {}).get("volumeName")
        if bound:
            volume = state.volumes.get(str(bound))
            if volume is not None and not volume_fits_node(volume, node):
                return [ERR_NODE_CONFLICT]
            continue
        found = _volume_for(claim, node, state, taken)
        if found is not None:
            taken.append(str(found["metadata"]["name"]))
        elif not _provisioned(claim, state):
            return [ERR_BIND_CONFLICT]
    return []


@dataclass(frozen=True)
class VolumeWrite:
    """A merge patch PreBind sends: a volume (namespace "") or a claim."""

    kind: str
    namespace: str
    name: str
    body: Object


def volume_bindings(pod: ObjectView, node: ObjectView, state: Volumes) -> list[VolumeWrite]:
    """What binds the pod's unbound (late) claims on `node` (empty: all are bound)."""
    writes: list[VolumeWrite] = []
    taken: list[str] = []
    node_name = str((node.get("metadata") or {}).get("name") or "")
    for claim in _claims(pod, state):
        if (claim.get("spec") or {}).get("volumeName"):
            continue
        meta = claim.get("metadata") or {}
        found = _volume_for(claim, node, state, taken)
        if found is not None:
            name = str(found["metadata"]["name"])
            taken.append(name)
            body: Object = {"spec": {"claimRef": claim_ref(claim)}}
            version = (found.get("metadata") or {}).get("resourceVersion")
            metadata: Object = {"resourceVersion": version} if version else {}
            if (found.get("spec") or {}).get("claimRef") is None:
                metadata["annotations"] = {BOUND_BY_CONTROLLER: "yes"}
            if metadata:
                body["metadata"] = metadata
            writes.append(VolumeWrite("persistentvolumes", "", name, body))
        elif (meta.get("annotations") or {}).get(SELECTED_NODE) != node_name:
            writes.append(VolumeWrite("persistentvolumeclaims", str(meta.get("namespace")),
                                      str(meta.get("name")), {"metadata": {"annotations": {
                                          SELECTED_NODE: node_name}}}))
    return writes


def _merged(obj: ObjectView, body: ObjectView) -> Object:
    merged: Object = copy.deepcopy(dict(obj))
    for section in ("metadata", "spec"):
        part = dict(body.get(section) or {})
        part.pop("resourceVersion", None)  # the server's next one is not known yet
        annotations = part.pop("annotations", None)
        target = merged.setdefault(section, {})
        target.update(part)
        if annotations:
            target["annotations"] = {**(target.get("annotations") or {}), **annotations}
    return merged


def assume(state: Volumes, writes: Iterable[VolumeWrite]) -> Volumes:
    """`state` as it is once `writes` are applied (upstream's assume cache), for the rest
    of the pass."""
    volumes, claims = dict(state.volumes), dict(state.claims)
    for write in writes:
        if write.kind == "persistentvolumes" and write.name in volumes:
            volumes[write.name] = _merged(volumes[write.name], write.body)
        elif (key := (write.namespace, write.name)) in claims:
            claims[key] = _merged(claims[key], write.body)
    return replace(state, claims=claims, volumes=volumes)


def waiting_for_binding(pod: ObjectView, state: Volumes) -> bool:
    """Whether a claim of the pod is still unbound (PreBind waits for it)."""
    return any(not (c.get("spec") or {}).get("volumeName") for c in _claims(pod, state))
