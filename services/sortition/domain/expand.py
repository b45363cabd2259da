"""From type-count panels to concrete panels (row indices), keeping every marginal exact.

Within a type-count panel that takes x of the c members of a type, member j (0-based within the
type, input order) is on the panel iff ``(j - o) mod c < x`` for a rotation offset ``o``.  With
``g = gcd(x, c)`` and ``o = g * floor(u * c / g)`` for ``u`` uniform in [0, 1), every member is
chosen with probability exactly x / c.  One ``u`` is shared by all types of the panel, so the
panel splits into as many concrete panels as there are distinct breakpoints ``i * g / c``.
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd

import numpy as np

from .leximin import TypeDistribution
from .model import Instance


def concrete_panels(inst: Instance, dist: TypeDistribution, max_panels: int | None = None
                    ) -> list[tuple[list[int], float]] | None:
    """Concrete panels with probabilities, or None when more than ``max_panels`` would result."""
    out: dict[tuple[int, ...], float] = {}
    total = 0
    for x, p in zip(dist.panels, dist.probs):
        split = [t for t in np.nonzero(x)[0] if x[t] < inst.type_counts[t]]
        dens = {int(inst.type_counts[t] // gcd(int(x[t]), int(inst.type_counts[t]))) for t in split}
        points = {Fraction(0), Fraction(1)}
        for d in dens:
            points.update(Fraction(i, d) for i in range(1, d))
        points = sorted(points)
        total += len(points) - 1
        if max_panels is not None and total > max_panels:
            return None
        full = [i for t in np.nonzero(x)[0] if x[t] == inst.type_counts[t] for i in inst.type_members[t]]
        for a, b in zip(points[:-1], points[1:]):
            u = (a + b) / 2
            members = list(full)
            for t in split:
                c = int(inst.type_counts[t])
                xt = int(x[t])
                g = gcd(xt, c)
                o = g * int(u * (c // g))
                mem = inst.type_members[t]
                members.extend(mem[(o + r) % c] for r in range(xt))
            key = tuple(sorted(members))
            out[key] = out.get(key, 0.0) + float(p) * float(b - a)
    return [(list(k), v) for k, v in out.items()]


def count_concrete_panels(inst: Instance, dist: TypeDistribution) -> int:
    total = 0
    for x in dist.panels:
        split = [t for t in np.nonzero(x)[0] if x[t] < inst.type_counts[t]]
        dens = {int(inst.type_counts[t] // gcd(int(x[t]), int(inst.type_counts[t]))) for t in split}
        points = {Fraction(0)}
        for d in dens:
            points.update(Fraction(i, d) for i in range(1, d))
        total += len(points)
    return total
