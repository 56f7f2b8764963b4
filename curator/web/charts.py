"""Bar charts as inline SVG, drawn on the server.

The page must render with no network (no CDN chart library) and no JavaScript build. A bar
chart is a few rectangles and labels, so it is written here rather than pulling in a plotting
stack; each bar carries ``data-label``/``data-value`` so tests and screen readers can read it.
"""

from __future__ import annotations

from html import escape

PALETTE = ("#3b6ea8", "#5b9c5a", "#c98b2b", "#a8433b", "#7a5ba8", "#3b9ca0")


def _fmt(value: float, percent: bool = False) -> str:
    return f"{value:.0%}" if percent else f"{value:,}"


def _open(chart_id: str, title: str, width: float, height: float, empty: bool, empty_y: float) -> list[str]:
    """The chart's <svg> element and title (and a "no data" line when there is nothing to draw)."""
    parts = [f'<svg class="chart" data-chart="{escape(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}">',
             f'<text x="{width / 2}" y="16" text-anchor="middle" class="title">{escape(title)}</text>']
    if empty:
        parts.append(f'<text x="{width / 2}" y="{empty_y}" text-anchor="middle" class="empty">no data</text>')
    return parts


def vertical_bars(chart_id: str, title: str, labels: list[str], values: list[float],
                  width: int | None = None, height: int = 220, color: str = PALETTE[0]) -> str:
    """Columns, one per label (histograms): labels under the axis, values above the bars."""
    top, bottom, left = 28, 38, 8
    width = width or max(300, 66 * len(values) + 2 * left)
    plot_h = height - top - bottom
    n = max(len(values), 1)
    slot = (width - 2 * left) / n
    peak = max(values, default=0) or 1
    parts = _open(chart_id, title, width, height, empty=not values, empty_y=height / 2)
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * value / peak
        x = left + i * slot + slot * 0.1
        y = top + plot_h - h
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}" '
                     f'fill="{color}" data-label="{escape(str(label))}" data-value="{value}">'
                     f'<title>{escape(str(label))}: {_fmt(value)}</title></rect>')
        parts.append(f'<text x="{x + slot * 0.4:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="value">'
                     f'{_fmt(value)}</text>')
        parts.append(f'<text x="{x + slot * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'class="label">{escape(str(label))}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(chart_id: str, title: str, labels: list[str], values: list[float],
                    width: int = 520, bar_h: int = 24, scale_max: float | None = None,
                    percent: bool = False) -> str:
    """Rows, one per label (funnels, rates): the label left, the bar and its value right
    (as a percentage with ``percent``)."""
    top, label_w = 28, 170
    height = top + len(values) * (bar_h + 8) + 10
    peak = scale_max or max(values, default=0) or 1
    plot_w = width - label_w - 70
    parts = _open(chart_id, title, width, max(height, 60), empty=not values, empty_y=44)
    for i, (label, value) in enumerate(zip(labels, values)):
        y = top + i * (bar_h + 8)
        w = plot_w * value / peak
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h * 0.7:.1f}" text-anchor="end" class="label">'
                     f'{escape(str(label))}</text>')
        parts.append(f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{PALETTE[i % len(PALETTE)]}" data-label="{escape(str(label))}" data-value="{value}">'
                     f'<title>{escape(str(label))}: {_fmt(value, percent)}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}" class="value">'
                     f'{_fmt(value, percent)}</text>')
    parts.append("</svg>")
    return "".join(parts)
