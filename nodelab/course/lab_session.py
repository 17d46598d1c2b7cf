"""The notebooks' lab: the one that is up (kept alive between notebooks), or a fresh one, on
the embedded control plane or joined to a cluster (`cluster`).

`scripts/setup course` brings the default lab `demo` up and every notebook uses it: `use_lab`
attaches (`Lab.up` on a lab that is up only checks it and restarts what is not running) and
leaves it up at the end, so views stay live while the learner explores. With `fresh=True` it
takes that lab down first and brings a new one up. Each notebook then resets only the objects
it makes itself (its own Pods, Services, labels), at its start.

With `cluster="kind"` or a kubeconfig path (notebooks 01, 04, 06, 07) the lab's nodes join
that cluster instead (`Lab.join`; a lab joined already is checked, not joined again): the
decision is `cluster.plan_lab`; here are the facts it needs and the steps it plans. kind
without Docker or the kind CLI raises `ClusterUnavailable`, one line in the notebook.

Progress is one line, updated in place (`progress_line`): the step `up` is at, not its log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nodelab.course.cluster import (
    EMBEDDED,
    ClusterChoice,
    ClusterUnavailable,
    KnownLab,
    LabPlan,
    parse_cluster,
    plan_lab,
)
from nodelab.errors import NodelabError
from nodelab.lab.description import LabDescription
from nodelab.lab.join.kind import kind_kubeconfig, tools_problem
from nodelab.lab.join.kubeconfigs import ClusterAccess
from nodelab.lab.lab import Lab, known_labs, take_down_lab
from nodelab.lab.paths import LabPaths


def progress_line(label: str) -> Callable[[str], None]:
    """A progress callback that keeps one output line, updated in place."""
    from IPython.display import display

    handle: Any = display(f"{label}: starting", display_id=True)  # type: ignore[no-untyped-call]

    def say(message: str) -> None:
        if handle is not None:
            handle.update(f"{label}: {message}")

    return say


def labs_here() -> list[KnownLab]:
    """The labs on this host with their kind (the API server a joined one joined) and nodes."""
    found = []
    for name in known_labs():
        description = LabDescription.load(LabPaths.for_lab(name).description)
        if description is not None:
            found.append(KnownLab(name, description.joined, description.nodes))
    return found


def cluster_plan(choice: ClusterChoice, name: str | None, fresh: bool) -> LabPlan:
    """Gather the facts for `plan_lab` (the kubeconfig's server, whether kind runs, the labs)."""
    server = ""
    if choice.kind == "kubeconfig":
        server = ClusterAccess.load(kubeconfig_path(choice)).server
    problem = tools_problem() if choice.kind == "kind" else None
    return plan_lab(choice, name, labs_here(), fresh=fresh, server=server, kind_problem=problem)


def kubeconfig_path(choice: ClusterChoice) -> Path:
    """The kubeconfig of a `cluster` path ('~' expanded, relative to the notebook's directory)."""
    return Path(choice.kubeconfig).expanduser().resolve()


def use_lab(name: str | None = None, fresh: bool = False, cluster: object = EMBEDDED,
            **settings: Any) -> Lab:
    """The notebook's lab: lab `name` (None: the cluster's default lab, `demo` when embedded)
    on the embedded control plane, brought up if it is not; or, with `cluster="kind"` or a
    kubeconfig path, a lab whose nodes joined that cluster. `fresh` takes the lab down first;
    `settings` go to `Lab.up` (an embedded lab's)."""
    choice = parse_cluster(cluster)
    if settings and choice.kind != "embedded":
        raise NodelabError(f"lab settings ({', '.join(sorted(settings))}) are an embedded lab's: "
                           f"a lab joined to a cluster (cluster={cluster!r}) takes none")
    plan = cluster_plan(choice, name, fresh)
    if plan.action == "unavailable":
        raise ClusterUnavailable(plan.reason)
    if plan.take_down_first:
        take_down_lab(plan.lab)
    say = progress_line(f"lab {plan.lab}")
    if plan.action == "up":
        lab = Lab.up(plan.lab, progress=say, **settings)
    else:
        path = (kind_kubeconfig(plan.lab, say=say) if plan.action == "kind"
                else kubeconfig_path(choice))
        lab = Lab.join(path, plan.lab, plan.nodes, progress=say)
    where = (f"joined to {lab.description.joined}" if lab.description.joined
             else "embedded control plane")
    print(f"using lab {lab.name} ({where}): {lab.description.nodes} node(s), subnet "
          f"{lab.topology.subnet}, kubeconfig {lab.kubeconfig}")
    return lab
