"""Small charts drawn on the server as inline SVG (no chart library, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from safeground.i18n import _, format_number

PALETTE = ["#b3261e", "#e8a33d", "#2e7d32", "#1565c0", "#6a1b9a", "#00838f", "#5d4037",
           "#c2185b", "#455a64", "#9e9d24"]


def _fmt(v: float, unit: str) -> str:
    """A value as the language in use writes it, with its unit."""
    if unit == "km²":
        return f"{format_number(v, 2)} km²"
    return f"{format_number(v, 0)}{(' ' + unit) if unit else ''}"


def bars(items: Sequence[tuple[str, float]], *, unit: str = "", title: str = "",
         colours: Sequence[str] | None = None, width: int = 420) -> Markup:
    """A horizontal bar chart, one bar per (label, value)."""
    items = [(str(k), float(v)) for k, v in items]
    row, label_w, pad = 26, 150, 8
    height = max(1, len(items)) * row + 2 * pad
    top = max([v for _, v in items] + [0.0]) or 1.0
    bar_w = width - label_w - 110
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    if not items:
        parts.append(f'<text x="{pad}" y="{row}" class="muted">'
                     f'{escape(_("nothing recorded yet"))}</text>')
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        w = max(1.0, bar_w * value / top) if value > 0 else 0
        colour = (colours or PALETTE)[i % len(colours or PALETTE)]
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" '
                     f'class="lbl">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                     f'rx="3" fill="{colour}"><title>{escape(label)}: '
                     f'{escape(_fmt(value, unit))}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" class="val">'
                     f'{escape(_fmt(value, unit))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped


def columns(periods: Sequence[str], series: dict[str, Sequence[float]], *, unit: str = "",
            title: str = "", colours: dict[str, str] | None = None,
            width: int = 640, height: int = 220) -> Markup:
    """Stacked columns: one column per period, one colour per series."""
    pad_l, pad_b, pad_t = 56, 40, 12
    n = max(1, len(periods))
    totals = [sum(s[i] for s in series.values()) for i in range(len(periods))]
    top = max([*totals, 0.0]) or 1.0
    plot_h = height - pad_b - pad_t
    col_w = (width - pad_l - 10) / n
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 10}" '
             f'y2="{pad_t + plot_h}" class="axis"/>',
             f'<text x="{pad_l - 6}" y="{pad_t + 10}" text-anchor="end" class="val">'
             f'{escape(_fmt(top, unit))}</text>']
    if not periods:
        parts.append(f'<text x="{pad_l + 8}" y="{pad_t + 40}" class="muted">'
                     f'{escape(_("nothing recorded yet"))}</text>')
    for i, period in enumerate(periods):
        x = pad_l + i * col_w + col_w * 0.15
        y = pad_t + plot_h
        for j, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            y -= h
            colour = (colours or {}).get(name, PALETTE[j % len(PALETTE)])
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w * 0.7:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{escape(period)} '
                         f'{escape(name)}: {escape(_fmt(values[i], unit))}</title></rect>')
        if n <= 12 or i % max(1, n // 12) == 0:
            parts.append(f'<text x="{x + col_w * 0.35:.1f}" y="{height - pad_b + 16}" '
                         f'text-anchor="middle" class="lbl">{escape(period)}</text>')
    lx = pad_l
    for j, name in enumerate(series):
        colour = (colours or {}).get(name, PALETTE[j % len(PALETTE)])
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{lx + 14}" y="{height - 5}" class="lbl">'
                     f'{escape(name)}</text>')
        lx += 24 + 8 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
