"""Charts as inline SVG, drawn on the server: no JavaScript, printable, readable in any browser.

Two shapes are enough for the dashboard: grouped vertical bars over time (points per week) and
horizontal bars for a breakdown (members per tier). Text is escaped; numbers are laid out here.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#2f6f4f", "#d08c2b", "#8a8f98", "#4a6fa5", "#b5523b")


def grouped_bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, title: str,
                 width: int = 640, height: int = 240) -> Markup:
    """One group of bars per label (e.g. a week), one bar per series, with a legend."""
    left, bottom, top = 48, 36, 28
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max([1, *(v for _, values in series for v in values)])
    group_w = plot_w / max(len(labels), 1)
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e5e8"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{value:,.0f}</text>')
    for index, label in enumerate(labels):
        x0 = left + index * group_w + group_w * 0.1
        for position, (name, values) in enumerate(series):
            value = values[index] if index < len(values) else 0
            h = plot_h * value / peak
            parts.append(f'<rect x="{x0 + position * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                         f'height="{h:.1f}" fill="{PALETTE[position % len(PALETTE)]}">'
                         f'<title>{escape(name)} {escape(label)}: {value:,}</title></rect>')
        if len(labels) <= 16 or index % 2 == 0:
            parts.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                         f'font-size="10">{escape(label)}</text>')
    for position, (name, _) in enumerate(series):
        x = left + position * 110
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{PALETTE[position % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="15" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(items: Sequence[tuple[str, int]], *, title: str, width: int = 420) -> Markup:
    """One labelled bar per item (e.g. members per tier)."""
    row_h, label_w = 24, 110
    height = max(len(items), 1) * row_h + 12
    peak = max([1, *(v for _, v in items)])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, value) in enumerate(items):
        y = 6 + index * row_h
        w = (width - label_w - 60) * value / peak
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="16" fill="{PALETTE[index % len(PALETTE)]}"/>'
                     f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{value:,}</text>')
    if not items:
        parts.append('<text x="10" y="20" font-size="12">nothing yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
