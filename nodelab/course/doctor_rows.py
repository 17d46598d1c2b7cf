"""`nodelab doctor` for the course's first notebook: only the rows that matter here.

The full report has rows about kind, Docker, IPVS and dummy links that this course does not
use; shown to a newcomer they look alarming and say nothing useful. The course shows the rows
a lab needs (`LAB_NEEDS`) and any other row that changes what a notebook shows
(`COURSE_NOTES`), and counts the rest in one line.
"""

from __future__ import annotations

from nodelab.host.doctor import LAB_NEEDS, Finding, render

# Rows outside LAB_NEEDS that change what a notebook shows, and where.
COURSE_NOTES = {
    "CAP_SYS_RESOURCE": "05 shows the planned oom_score_adj beside the clamped one",
    "reference CNI plugins": "03 compares nodelab's CNI plugins with them",
    "graphviz dot": "the views draw their graphs with it",
}


def course_rows(findings: list[Finding]) -> str:
    """The lab's rows and the course's notes, then one line counting what is left out."""
    shown = [f for f in findings if f.name in LAB_NEEDS or f.name in COURSE_NOTES]
    hidden = [f for f in findings if f not in shown]
    lines = [render(shown)] if shown else []
    lines += [f"  note ({f.name}): {COURSE_NOTES[f.name]}" for f in shown
              if f.name in COURSE_NOTES and not f.ok]
    if hidden:
        lines.append(f"({len(hidden)} more rows the course does not need: "
                     f"{', '.join(f.name for f in hidden)}; `nodelab doctor` shows them)")
    return "\n".join(lines)
