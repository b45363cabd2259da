"""The panel's composition at each session against the quotas: the share of the members present
in each category value beside the quota's band (min and max of the panel size, as shares), and a
server-rendered SVG chart of it (no script, no fonts or files to fetch; same figures, same bytes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from html import escape

# The quota band and one marker per session, from light to dark: the latest session is darkest.
BAND = "#dbe8f5"
MARKERS = ("#9e9e9e", "#6f6f6f", "#3d6fa3", "#0059b3", "#003d7a", "#1a1a1a")
ROW, LABEL_W, WIDTH, TOP = 22, 150, 640, 30


def composition(strata: Sequence[Mapping], panel_size: int, features: Mapping, present_by_session: Sequence[Sequence]
                ) -> list[dict]:
    """Per category of the quotas, per value: the band (min, max shares of the panel size) and the
    share of the members present at each session (None where nobody was present).
    `features[member][category] = value`; `present_by_session[i]` = the members present at session i."""
    out = []
    for s in strata:
        category = s["category"]
        counts = [Counter(features.get(m, {}).get(category) for m in present) for present in present_by_session]
        rows = []
        for q in s["quotas"]:
            shares = [(c[q["value"]] / n if n else None) for c, n in zip(counts, map(len, present_by_session))]
            counted = [c[q["value"]] for c in counts]
            rows.append({"value": q["value"], "min": q["min"] / panel_size, "max": q["max"] / panel_size,
                         "shares": shares, "counts": counted,
                         "outside": [x is not None and not (q["min"] / panel_size - 1e-9 <= x <= q["max"] / panel_size
                                                            + 1e-9) for x in shares]})
        out.append({"category": category, "rows": rows})
    return out


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def composition_chart(title: str, rows: Sequence[dict], sessions: Sequence[str], *, label: Callable[[str], str],
                      band_text: str, chart_id: str) -> str:
    """One category's chart: a row per value with its quota band and a marker per session (in the
    legend's order). The <desc> says every figure for screen readers."""
    plot_w = WIDTH - LABEL_W - 20
    top = max([r["max"] for r in rows] + [x for r in rows for x in r["shares"] if x is not None] + [0.05])
    scale = plot_w / min(1.0, top * 1.15)
    height = TOP + len(rows) * ROW + 20
    desc = "; ".join(f"{label(r['value'])}: {band_text} {_pct(r['min'])}–{_pct(r['max'])}, " + ", ".join(
        f"{s} {'–' if x is None else _pct(x)}" for s, x in zip(sessions, r["shares"])) for r in rows)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bt-chart" viewBox="0 0 {WIDTH} {height}" width="100%" '
           f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" font-family="sans-serif" font-size="11">',
           f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>']
    x = LABEL_W
    out.append(f'<rect x="{x}" y="6" width="14" height="10" fill="{BAND}" stroke="#6f6f6f" stroke-width="0.5"/>'
               f'<text x="{x + 18}" y="15" fill="#1a1a1a">{escape(band_text)}</text>')
    x += 18 + 7 * len(band_text) + 16
    for i, s in enumerate(sessions):
        colour = MARKERS[i % len(MARKERS)]
        out.append(f'<rect x="{x}" y="5" width="4" height="12" fill="{colour}"/>'
                   f'<text x="{x + 8}" y="15" fill="#1a1a1a">{escape(s)}</text>')
        x += 8 + 7 * len(s) + 14
    for g, r in enumerate(rows):
        y = TOP + g * ROW
        out.append(f'<text x="{LABEL_W - 8}" y="{y + 14}" text-anchor="end" fill="#1a1a1a">'
                   f'{escape(_clip(label(r["value"])))}</text>')
        out.append(f'<rect x="{LABEL_W + r["min"] * scale:.1f}" y="{y + 3}" '
                   f'width="{max((r["max"] - r["min"]) * scale, 1.5):.1f}" height="{ROW - 6}" fill="{BAND}" '
                   f'stroke="#6f6f6f" stroke-width="0.5"/>')
        for i, share in enumerate(r["shares"]):
            if share is None:
                continue
            out.append(f'<rect x="{LABEL_W + share * scale - 1.5:.1f}" y="{y + 1}" width="3" height="{ROW - 2}" '
                       f'fill="{MARKERS[i % len(MARKERS)]}"/>')
    axis_y = TOP + len(rows) * ROW + 14
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        if tick * scale <= plot_w:
            out.append(f'<text x="{LABEL_W + tick * scale:.1f}" y="{axis_y}" text-anchor="middle" '
                       f'fill="#1a1a1a">{_pct(tick)}</text>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
