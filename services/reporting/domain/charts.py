"""Server-rendered SVG charts for the report (no scripts, no fonts or files to fetch): the panel
beside the pool and the population per stratum. The same SVG works on the page, in the frozen
HTML document and in the PDF. Pure and deterministic (same figures, same bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

# The design system's blues and a grey: distinct in greyscale print too.
SERIES_COLOURS = ("#6f6f6f", "#8fb3d9", "#0059b3")
BAR, GAP, LABEL_W, WIDTH, PAD = 11, 9, 170, 640, 6


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def shares_chart(title: str, series: Sequence[str], rows: Sequence[dict], *, hidden: str = "") -> str:
    """Grouped horizontal bars: one group per row ({"label", "values": [share or None, ...]} with a
    share in 0..1 per series), one bar per series. A None value is a suppressed figure: no bar,
    the text `hidden` instead. Returns an <svg> with a <title> and <desc> for screen readers."""
    bar_w = WIDTH - LABEL_W - 60
    group_h = len(series) * BAR + GAP
    legend_h = 22
    height = legend_h + len(rows) * group_h + PAD
    top = max([v for r in rows for v in r["values"] if v is not None] + [0.01])
    scale = bar_w / min(1.0, top * 1.1)
    desc = "; ".join(f"{r['label']}: " + ", ".join(f"{s} {hidden if v is None else _pct(v)}"
                                                    for s, v in zip(series, r["values"])) for r in rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bt-chart" viewBox="0 0 {WIDTH} {height}" '
           f'width="100%" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d" '
           f'font-family="sans-serif" font-size="11">',
           f'<title id="{_id(title)}-t">{escape(title)}</title><desc id="{_id(title)}-d">{escape(desc)}</desc>']
    x = LABEL_W
    for i, s in enumerate(series):
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{SERIES_COLOURS[i % 3]}"/>'
                   f'<text x="{x + 14}" y="13" fill="#1a1a1a">{escape(s)}</text>')
        x += 14 + 7 * len(s) + 18
    for g, r in enumerate(rows):
        y0 = legend_h + g * group_h
        out.append(f'<text x="{LABEL_W - 8}" y="{y0 + len(series) * BAR / 2 + 4:.1f}" text-anchor="end" '
                   f'fill="#1a1a1a">{escape(_clip(r["label"]))}</text>')
        for i, v in enumerate(r["values"]):
            y = y0 + i * BAR
            if v is None:
                out.append(f'<text x="{LABEL_W + 2}" y="{y + BAR - 2}" fill="#1a1a1a">{escape(hidden)}</text>')
                continue
            w = v * scale
            out.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR - 1}" '
                       f'fill="{SERIES_COLOURS[i % 3]}"/>'
                       f'<text x="{LABEL_W + w + 4:.1f}" y="{y + BAR - 2}" fill="#1a1a1a">{_pct(v)}</text>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
