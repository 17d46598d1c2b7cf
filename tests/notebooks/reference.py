"""A notebook's reference outputs: an executed (root, solved) run as a small HTML page.

`scripts/publish-reference` runs the course as tests/notebooks does with
`NODELAB_REFERENCE_DIR=docs/reference`; each executed notebook is written there as
`NN-topic.html`, which the plan-only runs point at (`nodelab.course.plan_only.reference_page`).
The page is nbconvert's `basic` body with a small stylesheet of our own (`reference.css`) and
without what only a live kernel can show: the hidden solutions' code (tag `solution`) and the
task widgets' text stand-ins (`VBox(children=...)`); a view's static HTML stays.
"""

from __future__ import annotations

import html
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

REFERENCE_ENV = "NODELAB_REFERENCE_DIR"
WIDGET = "application/vnd.jupyter.widget-view+json"
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}: reference outputs</title>
<link rel="stylesheet" href="reference.css"></head>
<body><p class="banner">Reference outputs of <code>notebooks/{name}.ipynb</code>, run as root
on a lab with every task solved (<code>solve = True</code>, <code>fast = True</code>). Hidden
solutions are left out. Run it yourself with privileges to see your own.</p>
{body}
</body></html>
"""


def _without_widget_stand_ins(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if WIDGET in data:
                if "text/html" not in data:
                    continue  # only the widget's repr: nothing to see without a kernel
                output["data"] = {"text/html": data["text/html"]}
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept


def reference_html(executed: Path) -> str:
    notebook = nbformat.read(str(executed), as_version=4)  # type: ignore[no-untyped-call]
    _without_widget_stand_ins(notebook)
    exporter = HTMLExporter(template_name="basic")  # type: ignore[no-untyped-call]
    hide = TagRemovePreprocessor(remove_input_tags={"solution"},  # type: ignore[no-untyped-call]
                                 enabled=True)
    exporter.register_preprocessor(hide, enabled=True)  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(notebook)
    first = notebook.cells[0].source.splitlines() if notebook.cells else []
    title = first[0].lstrip("# ") if first else executed.stem
    return PAGE.format(title=html.escape(title), name=html.escape(executed.stem), body=body)


def publish(executed: Path, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{executed.stem}.html"
    target.write_text(reference_html(executed))
    return target
