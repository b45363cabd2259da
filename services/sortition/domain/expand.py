"""From type-count panels to concrete panels (row indices), keeping every marginal exact.

Within a type-count panel that takes x of the c members of a type, member j (0-based within the
type, input order) is on the panel iff ``(j - o) mod c < x`` for a rotation offset ``o``.  With
``g = gcd(x, c)`` and ``o = g * floor(u * c / g)`` for ``u`` uniform in [0, 1), every member is
chosen with probability exactly x / c.  One ``u`` is shared by all types of the panel, so the
panel splits into as many concrete panels as there are distinct breakpoints ``i * g / c``.

Count first: the breakpoints of a panel are the fractions ``a / b`` in [0, 1) whose reduced
denominator ``b`` divides one of the panel's ``d = c / g``; there are ``sum phi(b)`` of them
over those ``b``, counted with integers (``count_concrete_panels``) before anything is built,
so a distribution with more concrete panels than wanted is recognised without building any.
``iter_concrete_panels`` yields them one at a time (for streaming output): two breakpoint
intervals of a panel move at least one type's window, and windows of x < c members of a cycle
differ when their starts do, so no concrete panel comes out twice.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Iterator

import numpy as np

from .leximin import TypeDistribution
from .model import Instance
from .sparse import row_key, sparse_row, sparse_rows


@lru_cache(maxsize=None)
def _divisors(d: int) -> tuple[int, ...]:
    small = [i for i in range(1, int(d ** 0.5) + 1) if d % i == 0]
    return tuple(sorted(set(small + [d // i for i in small])))


@lru_cache(maxsize=None)
def _phi(b: int) -> int:
    out, m, p = b, b, 2
    while p * p <= m:
        if m % p == 0:
            while m % p == 0:
                m //= p
            out -= out // p
        p += 1
    if m > 1:
        out -= out // m
    return out


def _denominators(inst: Instance, x: np.ndarray) -> tuple[list[int], set[int]]:
    """The types split by panel ``x`` (0 < x_t < c_t) and their denominators ``c / gcd(x, c)``."""
    return _denominators_sparse(inst, *sparse_row(x))


def _denominators_sparse(inst: Instance, types: np.ndarray, counts: np.ndarray) -> tuple[list[int], set[int]]:
    c = inst.type_counts[types]
    keep = counts < c
    split = [int(t) for t in np.asarray(types)[keep]]
    return split, {int(ct // gcd(int(xt), int(ct))) for xt, ct in zip(np.asarray(counts)[keep], c[keep])}


def _panel_count(dens: set[int]) -> int:
    """Distinct breakpoints i/d in [0, 1) over the denominators (1 for a panel nobody splits)."""
    reduced = {b for d in dens for b in _divisors(d)} | {1}
    return sum(_phi(b) for b in reduced)


def count_concrete_panels(inst: Instance, dist: TypeDistribution, limit: int | None = None) -> int:
    """How many concrete panels the distribution expands to; stops counting above ``limit``."""
    total = 0
    seen: set[bytes] = set()
    for t, n in sparse_rows(dist.panels):
        key = row_key(t, n)
        if key in seen:
            continue
        seen.add(key)
        total += _panel_count(_denominators_sparse(inst, t, n)[1])
        if limit is not None and total > limit:
            break
    return total


def iter_concrete_panels(inst: Instance, dist: TypeDistribution) -> Iterator[tuple[list[int], float]]:
    """Concrete panels (sorted row indices) with probabilities, one at a time (a type panel
    that occurs twice in the distribution is expanded once, with its weights added)."""
    for _, members, p in iter_expansion(inst, dist):
        yield members, p


def iter_expansion(inst: Instance, dist: TypeDistribution) -> Iterator[tuple[np.ndarray, list[int], float]]:
    """(type panel, concrete panel, probability), one concrete panel at a time."""
    merged: dict[bytes, list] = {}
    for i, ((t, n), p) in enumerate(zip(sparse_rows(dist.panels), dist.probs)):
        entry = merged.setdefault(row_key(t, n), [i, 0.0])
        entry[1] += float(p)
    for i, p in merged.values():
        x = np.asarray(dist.panels[i])  # one dense row at a time
        split, dens = _denominators(inst, x)
        points = {Fraction(0), Fraction(1)}
        for d in dens:
            points.update(Fraction(i, d) for i in range(1, d))
        points = sorted(points)
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
            yield x, sorted(members), float(p) * float(b - a)


def concrete_panels(inst: Instance, dist: TypeDistribution, max_panels: int | None = None
                    ) -> list[tuple[list[int], float]] | None:
    """Concrete panels with probabilities, or None when more than ``max_panels`` would result
    (counted first: nothing is built then)."""
    if max_panels is not None and count_concrete_panels(inst, dist, max_panels) > max_panels:
        return None
    return list(iter_concrete_panels(inst, dist))
