"""Two small charts as inline SVG text: a histogram and a scatter plot.

Why not matplotlib or plotly: the report needs two plain charts, and a plotting library would be
a heavy dependency (matplotlib, with numpy's compiled extras, is a large install and a slow
import) or would put JavaScript into the page. Inline SVG is text, so the HTML file stays
self-contained, diffable and viewable offline, and drawing 1,000 points takes milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH = 480
HEIGHT = 240
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 28
MARGIN_BOTTOM = 40
BAR_COLOUR = "#4c78a8"
POINT_COLOUR = "#e45756"


def histogram(values: Sequence[float], *, title: str, x_label: str, bins: int = 20) -> str:
    """Counts of `values` in `bins` equal-width bins, as an <svg> element."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return _frame(title, [_text(WIDTH / 2, HEIGHT / 2, "no values", anchor="middle")])
    low, high = min(finite), max(finite)
    if high == low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    counts = [0] * bins
    for value in finite:
        counts[min(int((value - low) / width), bins - 1)] += 1
    top = max(counts)
    plot_w, plot_h = _plot_size()
    bar_w = plot_w / bins
    parts = []
    for number, count in enumerate(counts):
        if not count:
            continue
        bar_h = plot_h * count / top
        x = MARGIN_LEFT + number * bar_w
        y = MARGIN_TOP + plot_h - bar_h
        start = low + number * width
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
            f'height="{bar_h:.1f}" fill="{BAR_COLOUR}" data-count="{count}">'
            f"<title>{_number(start)} to {_number(start + width)}: {count}</title></rect>"
        )
    parts += _axes(low, high, 0, top, x_label, "count")
    return _frame(title, parts)


def scatter(
    points: Sequence[tuple[float, float]], *, title: str, x_label: str, y_label: str
) -> str:
    """Points (x, y) with the diagonal y = x drawn: points off it are rows that differ."""
    finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if not finite:
        return _frame(title, [_text(WIDTH / 2, HEIGHT / 2, "no values", anchor="middle")])
    low = min(min(x for x, _ in finite), min(y for _, y in finite))
    high = max(max(x for x, _ in finite), max(y for _, y in finite))
    if high == low:
        low, high = low - 0.5, high + 0.5
    plot_w, plot_h = _plot_size()

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            MARGIN_LEFT + plot_w * (x - low) / (high - low),
            MARGIN_TOP + plot_h * (1 - (y - low) / (high - low)),
        )

    (x0, y0), (x1, y1) = at(low, low), at(high, high)
    parts = [
        f'<line class="diagonal" x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    ]
    for x, y in finite:
        px, py = at(x, y)
        parts.append(
            f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="2" fill="{POINT_COLOUR}" '
            'fill-opacity="0.6"/>'
        )
    parts += _axes(low, high, low, high, x_label, y_label)
    return _frame(title, parts)


def _plot_size() -> tuple[float, float]:
    return WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM


def _axes(
    x_low: float, x_high: float, y_low: float, y_high: float, x_label: str, y_label: str
) -> list[str]:
    plot_w, plot_h = _plot_size()
    left, bottom = MARGIN_LEFT, MARGIN_TOP + plot_h
    return [
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="{MARGIN_TOP}" x2="{left}" y2="{bottom}" stroke="#333"/>',
        _text(left, bottom + 14, _number(x_low), anchor="start"),
        _text(left + plot_w, bottom + 14, _number(x_high), anchor="end"),
        _text(left + plot_w / 2, bottom + 32, x_label, anchor="middle"),
        _text(left - 4, bottom, _number(y_low), anchor="end"),
        _text(left - 4, MARGIN_TOP + 10, _number(y_high), anchor="end"),
        _text(12, MARGIN_TOP + plot_h / 2, y_label, anchor="middle", rotate=True),
    ]


def _frame(title: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
        + _text(WIDTH / 2, 16, title, anchor="middle")
        + "".join(parts)
        + "</svg>"
    )


def _text(x: float, y: float, content: str, *, anchor: str, rotate: bool = False) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" font-family="sans-serif" '
        f'text-anchor="{anchor}"{turn}>{escape(content)}</text>'
    )


def _number(value: float) -> str:
    return f"{value:.4g}"
