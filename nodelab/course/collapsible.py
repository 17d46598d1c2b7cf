"""Long objects (a whole Pod, a Node, an OCI spec) folded under a one-line summary.

In JupyterLab the learner clicks the summary to open it; in any other front end (papermill's
output, a terminal) the text form is the summary line alone, so outputs stay short.
"""

from __future__ import annotations

import html
import json
from typing import Any


class Collapsible:
    """`display(Collapsible(title, obj))`: HTML <details>, JSON-able objects pretty-printed."""

    def __init__(self, title: str, obj: Any) -> None:
        self.title = title
        self.body = obj if isinstance(obj, str) else json.dumps(obj, indent=2, default=str)

    def _repr_html_(self) -> str:
        lines = self.body.count("\n") + 1
        return (f"<details><summary>{html.escape(self.title)} ({lines} lines: click to open)"
                f"</summary><pre>{html.escape(self.body)}</pre></details>")

    def __repr__(self) -> str:
        return f"{self.title} ({self.body.count(chr(10)) + 1} lines, folded)"


def collapsible(title: str, obj: Any) -> Collapsible:
    return Collapsible(title, obj)
