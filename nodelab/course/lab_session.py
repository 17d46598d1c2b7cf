"""The notebooks' lab: the one that is up (kept alive between notebooks), or a fresh one.

`scripts/setup course` brings the default lab `demo` up and every notebook uses it: `use_lab`
attaches (`Lab.up` on a lab that is up only checks it and restarts what is not running) and
leaves it up at the end, so views stay live while the learner explores. With `fresh=True` it
takes that lab down first and brings a new one up. Each notebook then resets only the objects
it makes itself (its own Pods, Services, labels), at its start.

Progress is one line, updated in place (`progress_line`): the step `up` is at, not its log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nodelab.lab.lab import Lab, take_down_lab


def progress_line(label: str) -> Callable[[str], None]:
    """A progress callback that keeps one output line, updated in place."""
    from IPython.display import display

    handle: Any = display(f"{label}: starting", display_id=True)  # type: ignore[no-untyped-call]

    def say(message: str) -> None:
        if handle is not None:
            handle.update(f"{label}: {message}")

    return say


def use_lab(name: str, fresh: bool = False, **settings: Any) -> Lab:
    """Attach to lab `name` (bringing it up if it is not); `fresh` takes it down first."""
    if fresh:
        take_down_lab(name)
    lab = Lab.up(name, progress=progress_line(f"lab {name}"), **settings)
    print(f"using lab {name}: {lab.description.nodes} node(s), subnet {lab.topology.subnet}, "
          f"kubeconfig {lab.kubeconfig}")
    return lab
