"""Tiny SVG line charts for the static forms (no plotting library, no JavaScript).

`line_chart` draws a few series over time on one y axis, optional horizontal limit lines (a
memory limit, a CPU quota) and vertical event markers (OOM kills, restarts). It returns an
inline `<svg>` element, which every notebook renderer shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from nodelab.widgets.markup import esc


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    at: float
    label: str
    color: str = "#cf222e"


@dataclass(frozen=True)
class Chart:
    title: str
    series: Sequence[Series]
    limits: Sequence[tuple[str, float, str]] = field(default_factory=tuple)
    """(label, y value, colour) horizontal lines."""
    markers: Sequence[Marker] = field(default_factory=tuple)
    unit: str = ""
    width: int = 420
    height: int = 140


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2g}" if value < 10 else f"{value:.1f}"


def line_chart(chart: Chart) -> str:
    left, right, top, bottom = 44, 8, 18, 20
    w, h = chart.width, chart.height
    xs = [x for s in chart.series for x, _ in s.points] + [m.at for m in chart.markers]
    ys = [y for s in chart.series for _, y in s.points] + [v for _, v, _ in chart.limits]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 - x0 < 1e-9:
        x1 = x0 + 1.0
    y1 = max(ys) * 1.1 if ys and max(ys) > 0 else 1.0

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (y / y1) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" style="font-family:sans-serif;font-size:10px">',
           f'<text x="{left}" y="12" font-weight="bold">{esc(chart.title)}</text>',
           f'<line x1="{left}" y1="{py(0):.1f}" x2="{w - right}" y2="{py(0):.1f}" '
           'stroke="#8c959f"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{py(0):.1f}" stroke="#8c959f"/>',
           f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{_fmt(y1)}{esc(chart.unit)}'
           "</text>",
           f'<text x="{left - 4}" y="{py(0):.1f}" text-anchor="end">0</text>',
           f'<text x="{w - right}" y="{h - 6}" text-anchor="end">{x1 - x0:.0f} s</text>']
    for label, value, color in chart.limits:
        out.append(f'<line x1="{left}" y1="{py(value):.1f}" x2="{w - right}" '
                   f'y2="{py(value):.1f}" stroke="{color}" stroke-dasharray="5,3"/>')
        out.append(f'<text x="{w - right}" y="{py(value) - 3:.1f}" text-anchor="end" '
                   f'fill="{color}">{esc(label)}</text>')
    for marker in chart.markers:
        out.append(f'<line x1="{px(marker.at):.1f}" y1="{top}" x2="{px(marker.at):.1f}" '
                   f'y2="{py(0):.1f}" stroke="{marker.color}" stroke-width="2"/>')
        out.append(f'<text x="{px(marker.at) + 2:.1f}" y="{top + 10}" '
                   f'fill="{marker.color}">{esc(marker.label)}</text>')
    legend_x = left + 140
    for series in chart.series:
        if series.points:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in series.points)
            dash = ' stroke-dasharray="3,2"' if series.dashed else ""
            out.append(f'<polyline points="{path}" fill="none" stroke="{series.color}" '
                       f'stroke-width="1.5"{dash}/>')
        out.append(f'<text x="{legend_x}" y="12" fill="{series.color}">{esc(series.label)}'
                   "</text>")
        legend_x += 8 + 6 * len(series.label)
    out.append("</svg>")
    return "".join(out)
