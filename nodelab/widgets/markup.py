"""Small HTML building blocks shared by every view's static form.

The static form of a view is a self-contained HTML fragment (inline styles, inline SVG, no
scripts) so that it survives every place a notebook output goes: papermill output files,
nbconvert, GitHub's notebook renderer (which strips scripts and most CSS classes). These
functions only escape and assemble strings; they know nothing about Kubernetes or Linux.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

OK = "#1a7f37"
BAD = "#cf222e"
WARN = "#9a6700"
MUTED = "#57606a"
HIGHLIGHT = "#bf8700"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def badge(text: str, color: str = MUTED) -> str:
    return (
        f'<span style="border:1px solid {color};color:{color};border-radius:8px;'
        f'padding:0 6px;margin:0 2px;font-size:90%;white-space:nowrap">{esc(text)}</span>'
    )


def heading(text: str, sub: str = "") -> str:
    extra = f' <span style="color:{MUTED};font-weight:normal">{esc(sub)}</span>' if sub else ""
    return f'<div style="font-weight:bold;margin:4px 0">{esc(text)}{extra}</div>'


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, raw: bool = False) -> str:
    """An HTML table; cells are escaped unless `raw` (then they are markup already)."""
    cell = (lambda v: v) if raw else esc
    head = "".join(
        f'<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #d0d7de">'
        f"{esc(h)}</th>" for h in header
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td style="text-align:left;padding:2px 8px;vertical-align:top">{cell(v)}</td>'
            for v in row
        ) + "</tr>"
        for row in rows
    )
    return (f'<table style="border-collapse:collapse;font-size:90%;margin:4px 0">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def block(*parts: str, title: str = "") -> str:
    top = heading(title) if title else ""
    return (f'<div style="font-family:sans-serif;font-size:13px">{top}{"".join(parts)}</div>')


def pre(text: str) -> str:
    return f'<pre style="font-size:90%;margin:4px 0">{esc(text)}</pre>'


def note(text: str) -> str:
    return f'<div style="color:{MUTED};font-size:85%;margin:2px 0">{esc(text)}</div>'
