"""The fairness page's chart of selection chances, as geometry (no I/O, no markup): every group
of volunteers with the same answers is one bar, as wide as its share of the pool and as tall as
each of its members' chance to be selected, sorted from the lowest chance to the highest. A fair
draw shows a flat profile close to the average chance k/n; a draw that favours some groups shows
steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    probability: float
    volunteers: int
    features: dict


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    top: float  # the chance at the top of the plot area
    bars: list[Bar]
    average: float  # k / n: every volunteer's chance if all were equal
    average_y: float
    ticks: list[tuple[float, float, int]]  # (chance, y, decimals of its percentage) for the axis


def nice_top(value: float) -> float:
    """The smallest of 0.05, 0.1, 0.2, 0.25, 0.5, 1 (times a power of ten) at or above `value`."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while value * scale < 0.1:
        scale *= 10
    for step in (0.1, 0.2, 0.25, 0.5, 1.0):
        if value * scale <= step + 1e-12:
            return min(step / scale, 1.0)
    return 1.0


def selection_chart(profiles: Sequence[dict], *, n: int, k: int, width: float = 480, height: float = 200) -> Chart:
    """`profiles` as in the fairness report: [{"features", "volunteers", "probability"}]."""
    ordered = sorted(profiles, key=lambda p: (p["probability"], sorted(p["features"].items())))
    total = sum(p["volunteers"] for p in ordered) or 1
    top = nice_top(max([p["probability"] for p in ordered] + [k / n if n else 0.0]))
    bars, x = [], 0.0
    for p in ordered:
        w = width * p["volunteers"] / total
        h = height * p["probability"] / top
        bars.append(Bar(x=round(x, 2), width=round(w, 2), y=round(height - h, 2), height=round(h, 2),
                        probability=p["probability"], volunteers=p["volunteers"], features=p["features"]))
        x += w
    average = k / n if n else 0.0
    ticks = []
    for i in range(5):
        chance = top * i / 4
        percent = chance * 100
        digits = next(d for d in (0, 1, 2, 3) if abs(percent * 10 ** d - round(percent * 10 ** d)) < 1e-6 or d == 3)
        ticks.append((chance, round(height - height * i / 4, 2), digits))
    return Chart(width=width, height=height, top=top, bars=bars, average=average,
                 average_y=round(height - height * average / top, 2), ticks=ticks)
