"""Which lab a notebook uses, from its `cluster` parameter: a pure decision.

Notebooks 01, 04, 06 and 07 take `cluster`:

- `"embedded"` (the default): the lab's own control plane, as `nodelab up` (lab `demo`);
- `"kind"`: a kind cluster joined by a lab (`nodelab kind up`; lab `kind`, cluster
  `nodelab-kind`), which needs a Docker engine and the kind CLI: without them the notebook
  stops at its first lab cell with one line saying why;
- a kubeconfig path (it has a `/` or starts with `~`: `./kind.kubeconfig`,
  `~/.kube/config`, `/tmp/admin.kubeconfig`): the lab's nodes join that cluster
  (`nodelab join`). A lab already joined to that kubeconfig's API server is reused, else
  lab `joined` is joined.

On kind, the cluster's API server cannot dial the lab's kubelets (docs/join.md): `kubectl
logs`, `exec`, `port-forward` and the node proxy of lab pods fail there. `kubelet_path_problem`
says so for the notebooks, which skip those cells and tasks with that reason, as they skip the
embedded-only ones.

`lab_name` names the lab explicitly (then it must be of the cluster's kind, or `fresh` takes
it down first); None, or the course's embedded lab `demo` (every notebook's default
`lab_name`) with another cluster, picks the cluster's default above, so a learner changes
only `cluster`. `plan_lab` decides from the facts the
caller gathered (the labs on this host, the kubeconfig's server, whether kind can run);
`lab_session.use_lab` gathers them and applies the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nodelab.errors import NodelabError
from nodelab.lab.names import DEFAULT_LAB

EMBEDDED = "embedded"
KIND = "kind"
DEFAULT_KIND_LAB = "kind"  # `nodelab kind up`'s default lab
DEFAULT_JOINED_LAB = "joined"  # `nodelab join`'s default lab

ACCEPTED = (f"{EMBEDDED!r} (the lab's own control plane), {KIND!r} (a kind cluster: needs "
            "Docker and the kind CLI) or the path of a kubeconfig whose cluster the lab's nodes "
            "join (with a '/' or a leading '~': './admin.kubeconfig', '~/.kube/config')")

ClusterKind = Literal["embedded", "kind", "kubeconfig"]
Action = Literal["up", "join", "kind", "unavailable"]


class ClusterUnavailable(NodelabError):
    """The cluster a notebook asked for cannot run on this host (kind without Docker).

    In a notebook it shows as its one line, not a traceback (IPython's `_render_traceback_`),
    and papermill reports it by name: the notebook tests skip with its message."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


@dataclass(frozen=True)
class ClusterChoice:
    """A parsed `cluster` parameter."""

    kind: ClusterKind
    kubeconfig: str = ""  # the path as given (kind "kubeconfig" only)


def parse_cluster(value: object) -> ClusterChoice:
    """The `cluster` parameter as a choice; anything else is an error naming the accepted forms."""
    if not isinstance(value, str):
        raise NodelabError(f"cluster={value!r} is not a string: use {ACCEPTED}")
    if value == EMBEDDED:
        return ClusterChoice("embedded")
    if value == KIND:
        return ClusterChoice("kind")
    if value.strip() == value and value and ("/" in value or value.startswith("~")):
        return ClusterChoice("kubeconfig", value)
    hint = ""
    if value.strip().lower() in (EMBEDDED, KIND):
        hint = f" (did you mean {value.strip().lower()!r}?)"
    elif value.strip() and value.strip() != value:
        hint = " (no spaces around it)"
    elif value:
        hint = f" (a kubeconfig in this directory: './{value}')"
    raise NodelabError(f"cluster={value!r} is not a cluster{hint}: use {ACCEPTED}")


@dataclass(frozen=True)
class KnownLab:
    """A lab on this host: its name, the API server it joined ("" when embedded), its nodes."""

    name: str
    joined: str
    nodes: int


@dataclass(frozen=True)
class LabPlan:
    """What `use_lab` does: take `lab` down first (`fresh`), then `up` (bring the embedded lab
    up, or check it), `join` (join, or check a lab joined already), `kind` (the kind cluster,
    then join it); or nothing, `unavailable`, saying why in `reason`."""

    action: Action
    lab: str
    nodes: int = 1
    take_down_first: bool = False
    reason: str = ""


def _find(known: Sequence[KnownLab], name: str) -> KnownLab | None:
    return next((lab for lab in known if lab.name == name), None)


def _refuse_other_kind(lab: KnownLab | None, wanted: str, server: str = "") -> None:
    """A lab of the wrong kind for the cluster asked for: an error saying what to do."""
    if lab is None:
        return
    way = (f"take it down (`nodelab down --name {lab.name}`), pass fresh_lab=True, or choose "
           "another lab_name")
    if wanted == EMBEDDED and lab.joined:
        raise NodelabError(f"lab {lab.name} is joined to {lab.joined}, not an embedded lab "
                           f"(cluster='embedded'): {way}")
    if wanted != EMBEDDED and not lab.joined:
        raise NodelabError(f"lab {lab.name} is an embedded lab, not one joined to a cluster "
                           f"(cluster={wanted!r}): {way}")
    if server and lab.joined and lab.joined != server:
        raise NodelabError(f"lab {lab.name} is joined to {lab.joined}, not to {server} "
                           f"(the server of cluster={wanted!r}): {way}")


def plan_lab(choice: ClusterChoice, lab_name: str | None, known: Sequence[KnownLab], *,
             fresh: bool = False, server: str = "", kind_problem: str | None = None) -> LabPlan:
    """The plan for a notebook's lab. `server` is the API server of the kubeconfig (kind
    "kubeconfig"), `kind_problem` why kind cannot run here (kind "kind"; None: it can)."""
    if choice.kind == "embedded":
        name = lab_name or DEFAULT_LAB
        if not fresh:
            _refuse_other_kind(_find(known, name), EMBEDDED)
        return LabPlan("up", name, take_down_first=fresh)
    if lab_name == DEFAULT_LAB:
        lab_name = None  # the course's embedded lab: the cluster's own default instead
    if choice.kind == "kind":
        name = lab_name or DEFAULT_KIND_LAB
        if kind_problem is not None:
            return LabPlan("unavailable", name, reason=f"cluster='kind' cannot run here: "
                                                       f"{kind_problem}")
        existing = None if fresh else _find(known, name)
        _refuse_other_kind(existing, KIND)
        return LabPlan("kind", name, existing.nodes if existing else 1, fresh)
    if not server:
        raise NodelabError(f"the kubeconfig {choice.kubeconfig} names no API server")
    if lab_name is None:
        same = sorted((lab for lab in known if lab.joined == server), key=lambda lab: lab.name)
        lab_name = same[0].name if same else DEFAULT_JOINED_LAB
    existing = None if fresh else _find(known, lab_name)
    _refuse_other_kind(existing, choice.kubeconfig, server)
    return LabPlan("join", lab_name, existing.nodes if existing else 1, fresh)


KIND_NO_KUBELET_PATH = (
    "on kind, the API server runs in a container with no route to the lab's kubelets, so "
    "kubectl logs/exec of the lab's pods fail there (docs/join.md)")


def kubelet_path_problem(cluster: object) -> str:
    """Why the API server of `cluster` cannot reach the lab's kubelets (what `kubectl logs`,
    `exec`, `port-forward` and the node proxy need), or "" where it can: the embedded control
    plane, and a kubeconfig's cluster whose API server runs on this host (the root namespace
    has a route to the lab bridge). A kubeconfig's API server elsewhere may not reach them
    either; nodelab cannot tell from the kubeconfig, and kubectl's own error then says so."""
    return KIND_NO_KUBELET_PATH if parse_cluster(cluster).kind == "kind" else ""
